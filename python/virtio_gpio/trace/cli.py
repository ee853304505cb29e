"""vgpio-trace: draw a waveform trace as a timing diagram.

The trace is the VCD file that ``vgpio-vhost-user --trace FILE.vcd``
records (GTKWave and PulseView open it too); the drawing has one row per
line: its level, coloured by who set it (the guest driving an output, the
host changing an input), the background shaded while the line is an
output or an input, and a marker at each interrupt that went to the
guest. The output's format follows its extension: PNG, SVG, PDF.
"""

import argparse
import sys

from ..clitext import plain
from . import extra

PROG = "vgpio-trace"

#: rows drawn at most: a device may have thousands of lines, and a figure
#: taller than a few metres helps nobody
MAX_ROWS = 64

EPILOG = """\
rows:
  Without --lines, the lines on which anything happened after the start
  (all lines, if nothing did), at most %d, in the trace's order.

exit status:
  0  drawn
  1  the trace extra is not installed (%s)
  2  usage error, a trace that is missing, not a VCD or without lines, an
     unknown --lines name, or an output that cannot be written
""" % (MAX_ROWS, extra.INSTALL)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog=PROG, description=plain(__doc__), epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trace", metavar="FILE.vcd",
                        help="the trace to draw")
    parser.add_argument("-o", "--output", required=True, metavar="FILE.png",
                        help="where to write the drawing")
    parser.add_argument("--lines", metavar="NAME,...",
                        help="draw these lines, in this order: device.line, "
                             "or line for that line of every device")
    parser.add_argument("--title", metavar="T",
                        help="the drawing's title (default: GPIO lines)")
    return parser.parse_args(argv)


def one_line(text):
    """``text`` fit for one line of stderr: a parse error may quote the
    file's bytes, control characters included."""
    return "".join(c if c.isprintable() else "?" for c in str(text))


def fail(message):
    print("%s: %s" % (PROG, one_line(message)), file=sys.stderr)
    return 2


def main(argv=None):
    args = parse_args(argv)
    extra.require(PROG)
    # Only now: --help and the missing-extra line work without them.
    from . import reader

    try:
        trace = reader.read(args.trace)
    except reader.TraceError as exc:
        return fail(exc)
    if not trace.lines:
        return fail("%s: the trace has no lines" % args.trace)
    if trace.truncated:
        print("%s: %s is cut off (%s); drawn up to there"
              % (PROG, args.trace, one_line(trace.truncated)),
              file=sys.stderr)

    if args.lines is not None:
        names = [name.strip() for name in args.lines.split(",")
                 if name.strip()]
        if not names:
            return fail("--lines names no line")
        try:
            lines = trace.select(names)
        except KeyError as exc:
            return fail("%s has no line %s (it has: %s)" % (
                args.trace, exc.args[0],
                ", ".join(line.full_name for line in trace.lines[:20])
                + (", ..." if len(trace.lines) > 20 else "")))
    else:
        lines = [line for line in trace.lines if line.active] or trace.lines
    if len(lines) > MAX_ROWS:
        print("%s: drawing %d of %d lines; choose with --lines"
              % (PROG, MAX_ROWS, len(lines)), file=sys.stderr)
        lines = lines[:MAX_ROWS]

    from . import render
    try:
        rows = render.render(trace, args.output, lines, title=args.title)
    except (OSError, ValueError) as exc:
        # A directory that is not there, a format matplotlib has not.
        return fail("cannot write %s: %s" % (args.output, exc))
    print("%s: %d line%s, %g s" % (args.output, len(rows),
                                    "" if len(rows) == 1 else "s",
                                    trace.end * trace.seconds_per_tick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
