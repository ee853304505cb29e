"""vgpio-ctl: drive a running vgpio-vhost-user through its control socket.

The socket is the backend's ``--control``; ``--device NAME`` picks one
device of a backend that serves several (a one-device backend needs
none). A LINE is a number from 0, or a line's name.

* ``set-input LINE LEVEL`` - the outside world drives an input line;
  prints e.g. ``line 1 button: 0 -> 1`` or ``line 1 button: already 1``;
* ``inject FAULT [COUNT]`` - the next COUNT replies (at least 1)
  misbehave (the backend's ``--fault`` kinds);
* ``stall [on|off]`` - the device stops answering: the guest's requests
  wait on their ring, as on a device that hangs, until ``stall off``
  (or until its front end goes);
* ``state`` - the device model's lines, counters, connections and
  whether it is stalled (``--json`` for the raw answer);
* ``devices`` - the devices the backend serves (``--json`` likewise);
* ``watch`` - print each line event as it happens, one line each: time,
  device, line, what happened (``--json``: the raw event lines); Ctrl-C
  ends it;
* ``wait LINE LEVEL --timeout S`` - return when the line is at the level
  (at once if it is already): the backend answers, nothing polls;
* ``stop`` - the backend shuts down.

Exit status: 0 done (``watch`` ended by Ctrl-C included); 1 ``wait``
timed out; 2 bad usage, a command the backend refused, or no backend to
talk to; 130 any other command ended by Ctrl-C. Errors are one line on
standard error.
"""

import argparse
import json
import logging
import math
import os
import re
import sys
import time

from ..clitext import plain
from ..host import Bench, BenchError, line_number

log = logging.getLogger(__name__)

#: exit statuses (see the module docstring)
OK, TIMED_OUT, FAILED = 0, 1, 2
#: the shell's status for a command ended by SIGINT
INTERRUPTED = 130


def line_arg(text):
    """A LINE argument: a number from 0 (as an int), or a line's name."""
    if re.fullmatch(r"-?[0-9]+", text):
        number = int(text)
        if number < 0:
            raise argparse.ArgumentTypeError(
                "line %s: lines are numbered from 0" % text)
        return number
    if not text or text.startswith("-"):
        raise argparse.ArgumentTypeError(
            "%r is neither a line number nor a line's name" % text)
    return text


def count_arg(text):
    """A COUNT argument: a whole number from 1."""
    if not re.fullmatch(r"[0-9]+", text) or int(text) < 1:
        raise argparse.ArgumentTypeError(
            "count %s: a count is a whole number from 1" % text)
    return int(text)


def seconds_arg(text):
    """A --timeout argument: a finite number of seconds from 0."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not (math.isfinite(seconds) and seconds >= 0):
        raise argparse.ArgumentTypeError(
            "timeout %s: a timeout is a number of seconds from 0" % text)
    return seconds


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, as every other error of this tool (the
    subcommands' parsers are of this class too)."""

    def error(self, message):
        self.exit(FAILED, "%s: %s (see --help)\n" % (self.prog, message))


def parse_args(argv):
    parser = _Parser(
        prog="vgpio-ctl", description=plain(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--control", required=True,
                        help="the backend's control socket (its --control)")
    parser.add_argument("-d", "--device", metavar="NAME",
                        help="the device to address, when the backend "
                             "serves several")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log each command sent (-v)")
    sub = parser.add_subparsers(dest="command", required=True)
    set_input = sub.add_parser("set-input", help="drive an input line")
    set_input.add_argument("line", type=line_arg)
    set_input.add_argument("level", type=int, choices=(0, 1))
    inject = sub.add_parser("inject", help="misbehave in the next replies")
    inject.add_argument("fault")
    inject.add_argument("count", type=count_arg, nargs="?", default=1)
    stall = sub.add_parser("stall", help="stop answering the guest, or "
                                         "answer again (off)")
    stall.add_argument("switch", nargs="?", choices=("on", "off"),
                       default="on", metavar="on|off",
                       help="on (the default) stalls, off resumes")
    state = sub.add_parser("state", help="print the device model's state")
    state.add_argument("--json", action="store_true",
                       help="the raw JSON answer")
    devices = sub.add_parser("devices", help="list the devices served")
    devices.add_argument("--json", action="store_true",
                         help="the raw JSON list")
    watch = sub.add_parser("watch", help="print line events as they happen")
    watch.add_argument("--json", action="store_true",
                       help="the raw JSON event lines")
    wait = sub.add_parser("wait", help="wait until a line is at a level")
    wait.add_argument("line", type=line_arg)
    wait.add_argument("level", type=int, choices=(0, 1))
    wait.add_argument("--timeout", type=seconds_arg, required=True,
                      metavar="S", help="give up after S seconds (exit 1)")
    sub.add_parser("stop", help="shut the backend down")
    return parser.parse_args(argv)


def describe(state):
    """The ``state`` answer as lines of text."""
    out = []
    for number, line in enumerate(state["lines"]):
        irq = " irq=%s" % line["irq"] if "irq" in line else ""
        out.append("line %d %-12s direction=%-4s value=%s%s" % (
            number, '"%s"' % line["name"], line["direction"], line["value"],
            irq))
    summary = "requests seen: %s, connected: %s, connections: %s" % (
        state["requests"], state["connected"], state["connections"])
    if "stalled" in state:    # a backend older than this tool has none
        summary += ", stalled: %s" % state["stalled"]
    out.append(summary)
    return out


def line_label(number, name):
    """``line 1 button``, or ``line 1`` for an unnamed line."""
    return "line %d %s" % (number, name) if name else "line %d" % number


#: each event kind as words, given its value
HAPPENED = {
    "drive": "guest drives %s",
    "direction": "guest sets direction %s",
    "irq_type": "guest sets irq type %s",
    "input": "host sets input %s",
    "interrupt": "interrupt to the guest, level %s",
}


def describe_event(event):
    """One line event as one line of text: time, device, line, what
    happened."""
    stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
    if event.kind in HAPPENED:
        happened = HAPPENED[event.kind] % (event.value,)
    else:  # a kind newer than this tool
        happened = "%s %s" % (event.kind, event.value)
    return "%s.%06d %s %s: %s" % (
        stamp, int(event.time % 1 * 1e6), event.device,
        line_label(event.line, event.name), happened)


def _line(bench, line):
    """``line`` (a number or a name) as its number and its label."""
    state = bench.state()
    lines = state["lines"]
    number = line_number(state, line)
    # An out-of-range number is the backend's to refuse, with its message.
    name = lines[number]["name"] if number < len(lines) else ""
    return number, line_label(number, name)


def _set_input(bench, args):
    number, label = _line(bench, args.line)
    if bench.set_input(number, args.level).changed:
        print("%s: %d -> %d" % (label, 1 - args.level, args.level))
    else:
        print("%s: already %d" % (label, args.level))
    return OK


def _wait(bench, args):
    number, label = _line(bench, args.line)
    try:
        bench.wait_for(number, args.level, args.timeout)
    except TimeoutError:
        print("vgpio-ctl: %s did not reach %d within %g s"
              % (label, args.level, args.timeout), file=sys.stderr)
        return TIMED_OUT
    print("%s: at %d" % (label, args.level))
    return OK


def _watch(bench, args):
    try:
        with bench.events() as events:
            print("vgpio-ctl: watching %s; Ctrl-C ends"
                  % ", ".join(events.subscribed), file=sys.stderr,
                  flush=True)
            for event in events:
                print(json.dumps(event.raw, sort_keys=True) if args.json
                      else describe_event(event), flush=True)
    except KeyboardInterrupt:
        return OK
    except BrokenPipeError:
        # The reader went away (watch | head): that ends the watch too.
        # Python's own flush of stdout at exit would complain again.
        sys.stdout = open(os.devnull, "w")
        return OK
    print("vgpio-ctl: the backend stopped", file=sys.stderr)
    return OK


def _devices(bench, args):
    devices = bench.devices()
    if args.json:
        print(json.dumps(devices, sort_keys=True))
        return OK
    for device in devices:
        print("%s: %d lines on %s, %s" % (
            device["name"], device["lines"], device["socket"],
            "connected" if device["connected"] else "no front end"))
    return OK


def _state(bench, args):
    state = bench.state()
    print(json.dumps(state, sort_keys=True) if args.json
          else "\n".join(describe(state)))
    return OK


def _inject(bench, args):
    bench.inject(args.fault, args.count)
    print("the next %s: %s" % ("reply" if args.count == 1 else
                               "%d replies" % args.count, args.fault))
    return OK


def _stall(bench, args):
    on = args.switch == "on"
    bench.stall(on)
    print("the device stalls: requests wait unanswered" if on
          else "the device answers again")
    return OK


def _stop(bench, args):
    bench.stop()
    print("the backend stops")
    return OK


COMMANDS = {"set-input": _set_input, "wait": _wait, "watch": _watch,
            "devices": _devices, "state": _state, "inject": _inject,
            "stall": _stall, "stop": _stop}


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else
                        logging.WARNING, format="%(name)s: %(message)s")
    log.info("%s on %s", args.command, args.control)
    bench = Bench(args.control, device=args.device)
    try:
        return COMMANDS[args.command](bench, args)
    except (BenchError, OSError) as exc:
        print("vgpio-ctl: %s" % exc, file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
