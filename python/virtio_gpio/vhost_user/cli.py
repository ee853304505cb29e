"""vgpio-vhost-user: serve simulated virtio-gpio devices over vhost-user.

It serves the virtio 1.2 GPIO device (device ID 41: QEMU's
vhost-user-gpio-pci, or ``virtio_uml.device=SOCKET:41`` on a User-Mode
Linux command line); ``--protocol id30`` serves the 2020 proposal's
instead (attach it as device ID 30). ``-s PATH`` serves one device on
PATH; ``-s PATH -c N`` serves N alike on PATH0 .. PATH<N-1>, named gpio0
.. gpio<N-1>, as rust-vmm's vhost-device-gpio names its sockets;
``--config FILE`` serves the bench a TOML file describes: devices, input
generators, wires between lines (see the user guide). The devices are the
same models the unit tests drive.

``--control`` opens a second socket taking one JSON command per
connection ({"cmd": "set_input", "line": 2, "level": 1}, {"cmd":
"state"}, {"cmd": "inject", "fault": "drop"}, {"cmd": "noop", "on":
true}, {"cmd": "stop"}; "device" names one of several), which
``vgpio-ctl`` sends.

The times of a ``--script`` and of a bench file's generators count from
the device's front end connecting, not from the start of the backend, and
each new connection replays them.

Every argument is checked before anything is served: a bad one is one
line on stderr and exit status 2, with no socket or file left behind.
"""

import argparse
import logging
import math
import os
import re
import signal
import sys

from ..clitext import plain
from ..devices import ConfigFault, Fault, Id30Device
from ..devices.base import MAX_QUEUED_FAULTS
from ..devices.standard import STANDARD_CONFIG_FAULTS, StandardDevice
from ..testbench import assemble, saved_state, schema
from ..testbench.load import BenchFileError, load
from ..testbench.stimuli import StimulatedBackend, script_sequences
from ..textfile import TextFileError, read_text
from ..wire.id30 import CFG_NAME_LEN
from .server import Server

log = logging.getLogger(__name__)

PROG = "vgpio-vhost-user"
#: the most a --fault COUNT may be, as the control socket's inject allows
MAX_FAULT_COUNT = MAX_QUEUED_FAULTS
#: the longest path a UNIX socket takes (sun_path, less its NUL)
MAX_SOCKET_PATH = 107


class BadInput(SystemExit):
    """An argument or input file the backend refuses: :func:`main` prints
    it as one line and exits with status 2. A SystemExit, so that a caller
    of :func:`parse_script` that does not catch it still gets the line."""


class _Stop(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """Its errors are one line, like every other refusal of this tool
    (argparse's own put the whole usage first)."""

    def error(self, message):
        self.exit(2, "%s: error: %s (see --help)\n" % (self.prog, message))


def _whole(text):
    """An int from ``text`` written in ASCII digits (with a leading minus),
    or None. Not int() alone: it takes "1_000", and isdigit() takes "²"."""
    return int(text) if re.fullmatch(r"-?[0-9]+", text) else None


def _seconds(text):
    """A float from ``text``, or None when it is not a number."""
    try:
        return float(text)
    except ValueError:
        return None


def parse_script(path, lines=None):
    """Lines of 'SECONDS LINE LEVEL' (comments with #), sorted by time;
    with ``lines`` (the device's line count) every LINE is checked to be
    one of them. Raises ``BadInput`` naming the file and line."""
    try:
        text = read_text(path, "--script %s" % path)
    except TextFileError as exc:
        raise BadInput(str(exc)) from None
    steps = []
    for number, text in enumerate(text.splitlines(), 1):
        text = text.split("#", 1)[0].strip()
        if not text:
            continue
        where = "--script %s:%d" % (path, number)
        fields = text.split()
        if len(fields) != 3 or _seconds(fields[0]) is None or \
                _whole(fields[1]) is None or _whole(fields[2]) is None:
            raise BadInput("%s: expected 'SECONDS LINE LEVEL', got %r"
                           % (where, text))
        when, line, level = (_seconds(fields[0]), _whole(fields[1]),
                             _whole(fields[2]))
        if not math.isfinite(when) or when < 0:
            raise BadInput("%s: time %s: SECONDS is a number >= 0, counted "
                           "from the front end connecting" % (where,
                                                              fields[0]))
        if lines is not None and not 0 <= line < lines:
            raise BadInput("%s: line %d out of range: the device has lines "
                           "0..%d" % (where, line, lines - 1))
        if line < 0:
            raise BadInput("%s: line %d: LINE is a line number >= 0"
                           % (where, line))
        if level not in (0, 1):
            raise BadInput("%s: level %d: LEVEL is 0 or 1" % (where, level))
        steps.append((when, line, level))
    return sorted(steps)


def parse_args(argv):
    parser = _Parser(prog=PROG, description=plain(__doc__),
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     allow_abbrev=False)
    # -s/--socket-path and -c/--socket-count as rust-vmm's
    # vhost-device-gpio has them.
    parser.add_argument("-s", "--socket-path", dest="socket",
                        help="vhost-user socket to listen on (with -c: the "
                             "sockets' common beginning)")
    parser.add_argument("-c", "--socket-count", type=int, metavar="N",
                        help="serve N devices alike on PATH0 .. PATH<N-1>, "
                             "named gpio0 .. gpio<N-1>")
    parser.add_argument("--config", metavar="FILE",
                        help="serve the bench this TOML file describes "
                             "(every device, its generators and wires); "
                             "instead of -s and the device options")
    lines = parser.add_mutually_exclusive_group()
    lines.add_argument("--lines", type=int,
                       help="number of unnamed lines, 1..%d (default 8)"
                            % schema.MAX_LINES)
    lines.add_argument("--names", help="comma-separated line names (sets "
                                       "the count; an empty one is an "
                                       "unnamed line)")
    parser.add_argument("--protocol", choices=("standard", "id30"),
                        help="standard (the default): virtio 1.2 GPIO "
                             "(device ID 41, e.g. QEMU's "
                             "vhost-user-gpio-pci); id30: the 2020 "
                             "proposal's protocol (attach as device ID 30)")
    parser.add_argument("--no-irq", action="store_true",
                        help="standard protocol: do not offer VIRTIO_GPIO_F_IRQ")
    parser.add_argument("--loopback", action="append", default=[],
                        metavar="OUT:IN",
                        help="standard protocol: output line OUT drives "
                             "input line IN")
    parser.add_argument("--name",
                        help="device name in the config space, at most %d "
                             "bytes (2020 protocol only; default "
                             "virtio-gpio-sim)" % CFG_NAME_LEN)
    parser.add_argument("--unchecked-names", action="store_true",
                        help="serve line and device names the guest driver "
                             "leaves out ('%%', '/', anything but printable "
                             "ASCII), to test that it does; refused "
                             "otherwise")
    parser.add_argument("--script", metavar="FILE",
                        help="file of 'SECONDS LINE LEVEL' input changes; "
                             "SECONDS count from the front end connecting, "
                             "and each connection replays them")
    parser.add_argument("--fault", action="append", default=[],
                        metavar="KIND[:COUNT]",
                        help="inject a fault into the next COUNT replies "
                             "(1..%d); KIND is one of %s"
                             % (MAX_FAULT_COUNT,
                                ", ".join(f.value for f in Fault)))
    parser.add_argument("--config-fault", choices=[f.value for f in ConfigFault],
                        help="present an invalid config space (2020 "
                             "protocol only)")
    parser.add_argument("--legacy", action="store_true",
                        help="offer the device without VIRTIO_F_VERSION_1, "
                             "as a legacy (pre-1.0) one: a driver of the "
                             "standard protocol must refuse it")
    parser.add_argument("--control", metavar="PATH",
                        help="control socket (JSON commands, vgpio-ctl)")
    parser.add_argument("--state", metavar="FILE",
                        help="keep the lines' state (directions, levels, "
                             "output values) in FILE across restarts; a "
                             "FILE saved for other devices is refused: "
                             "delete it to start afresh")
    parser.add_argument("--trace", metavar="FILE.vcd",
                        help="record every line event as a Value Change "
                             "Dump (needs the trace extra: pip install "
                             "'virtio-gpio[trace]')")
    parser.add_argument("--check-driver", metavar="REPORT",
                        help="check the guest's driver against the virtio "
                             "GPIO driver requirements while serving "
                             "(standard protocol) and write the report to "
                             "REPORT at each disconnect: JSON if it ends "
                             "in .json, else a table; with several devices "
                             "one report each, REPORT with the device's "
                             "name before the suffix")
    parser.add_argument("--once", action="store_true",
                        help="exit when the front ends disconnect (default: "
                             "wait for the next)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log connections and faults (-v), and every "
                             "vhost-user message (-vv)")
    argv = sys.argv[1:] if argv is None else list(argv)
    for arg in argv:
        if arg == "--":
            break
        if arg == "--socket" or arg.startswith("--socket="):
            parser.error("--socket is now -s/--socket-path")
    return parser.parse_args(argv)


# -- the devices ---------------------------------------------------------------

#: options that describe command-line devices; --config describes its own
_DEVICE_OPTIONS = (("socket", "-s"), ("socket_count", "-c"),
                   ("lines", "--lines"), ("names", "--names"),
                   ("protocol", "--protocol"), ("no_irq", "--no-irq"),
                   ("loopback", "--loopback"), ("name", "--name"),
                   ("unchecked_names", "--unchecked-names"),
                   ("script", "--script"), ("fault", "--fault"),
                   ("config_fault", "--config-fault"),
                   ("legacy", "--legacy"))


def _utf8(what, text):
    """``text`` from the command line, refused if it is no UTF-8 (the
    config space holds UTF-8; Python keeps such bytes as surrogates)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput("%s: not valid UTF-8" % what) from None


def _line_names(args):
    """The command line's lines: a count of unnamed ones, or names."""
    if args.names is None:
        count = 8 if args.lines is None else args.lines
        if not 1 <= count <= schema.MAX_LINES:
            raise BadInput("--lines %d: a device has 1..%d lines"
                           % (count, schema.MAX_LINES))
        return [""] * count
    if args.names == "":
        raise BadInput("--names '': no names; --lines N serves N unnamed "
                       "lines")
    names = args.names.split(",")
    if len(names) > schema.MAX_LINES:
        raise BadInput("--names: %d names; a device has 1..%d lines"
                       % (len(names), schema.MAX_LINES))
    for number, name in enumerate(names):
        _utf8("--names: line %d's name %r" % (number, name), name)
        problem = schema.guest_name_problem(name)
        if problem and not args.unchecked_names:
            raise BadInput("--names: line %d's name %r %s: the guest driver "
                           "leaves such names out (printable ASCII without "
                           "'%%' or '/'); --unchecked-names serves them "
                           "anyway" % (number, name, problem))
    return names


def _device_name(args):
    name = "virtio-gpio-sim" if args.name is None else args.name
    size = len(_utf8("--name %r" % name, name))
    if size > CFG_NAME_LEN:
        raise BadInput("--name %r: %d bytes; the config space holds at most "
                       "%d" % (name, size, CFG_NAME_LEN))
    problem = schema.guest_name_problem(name)
    if problem and not args.unchecked_names:
        raise BadInput("--name %r %s: the guest driver leaves such a name "
                       "out (printable ASCII without '%%' or '/'); "
                       "--unchecked-names serves it anyway" % (name, problem))
    return name


def _loopback(specs, count):
    wires = {}
    for spec in specs:
        out, colon, into = spec.partition(":")
        out, into = _whole(out), _whole(into)
        if not colon or out is None or into is None or out < 0 or into < 0:
            raise BadInput("--loopback %s: expected OUT:IN, two line numbers"
                           % spec)
        for line in (out, into):
            if line >= count:
                raise BadInput("--loopback %s: line %d out of range: the "
                               "device has lines 0..%d"
                               % (spec, line, count - 1))
        if out == into:
            raise BadInput("--loopback %s: a line cannot drive itself" % spec)
        if out in wires:
            raise BadInput("--loopback %s: line %d already drives line %d"
                           % (spec, out, wires[out]))
        wires[out] = into
    return wires


def _faults(specs):
    faults = []
    for spec in specs:
        kind, colon, count = spec.partition(":")
        try:
            fault = Fault(kind)
        except ValueError:
            raise BadInput("--fault %s: unknown fault; the faults are %s"
                           % (spec, ", ".join(f.value for f in Fault))) \
                from None
        number = _whole(count) if colon else 1
        if number is None or not 1 <= number <= MAX_FAULT_COUNT:
            raise BadInput("--fault %s: COUNT is a whole number 1..%d"
                           % (spec, MAX_FAULT_COUNT))
        faults.append((fault, number))
    return faults


def _command_line_server(args):
    """A server of the devices -s (and -c) and the device options
    describe, with what to call each socket in a message."""
    if args.socket is None:
        raise BadInput("no device: give -s PATH (or --config FILE)")
    protocol = args.protocol or "standard"
    names = _line_names(args)
    if protocol == "standard":
        if args.name is not None:
            raise BadInput("--name applies to the 2020 protocol: add "
                           "--protocol id30 (the standard protocol is the "
                           "default)")
        if (args.config_fault is not None and
                ConfigFault(args.config_fault) not in STANDARD_CONFIG_FAULTS):
            raise BadInput("--config-fault %s: the standard device's config "
                           "has no such field; it takes %s" % (
                               args.config_fault, ", ".join(
                                   f.value for f in STANDARD_CONFIG_FAULTS)))
        loopback = _loopback(args.loopback, len(names))
    else:
        if args.loopback or args.no_irq:
            raise BadInput("%s applies to the standard protocol only"
                           % ("--loopback" if args.loopback else "--no-irq"))
        device_name = _device_name(args)
    faults = _faults(args.fault)
    script = parse_script(args.script, len(names)) if args.script else []
    if args.socket_count is None:
        places = [(args.socket, "gpio0")]
    elif args.socket_count < 1:
        raise BadInput("-c %d: the socket count is 1 or more"
                       % args.socket_count)
    else:
        places = [("%s%d" % (args.socket, n), "gpio%d" % n)
                  for n in range(args.socket_count)]
    backends = []
    config_fault = (ConfigFault(args.config_fault) if args.config_fault
                    else None)
    for path, name in places:
        if protocol == "standard":
            device = StandardDevice(names, irq=not args.no_irq,
                                    loopback=loopback,
                                    config_fault=config_fault)
        else:
            device = Id30Device(names, name=device_name,
                                config_fault=config_fault)
        device.legacy = args.legacy
        for fault, count in faults:
            try:
                device.inject(fault, count)
            except ValueError as exc:
                raise BadInput("--fault %s: %s" % (fault.value, exc)) \
                    from None
        backends.append(StimulatedBackend(
            device, path, name, generators=script_sequences(script)))
    return (Server(backends, control_path=args.control, once=args.once),
            ["-s %s" % path for path, _ in places])


def _file_server(args):
    """A server of the bench file --config names, with what to call each
    socket in a message."""
    for attribute, option in _DEVICE_OPTIONS:
        value = getattr(args, attribute)
        if value is not None and value is not False and value != []:
            raise BadInput("%s cannot be given with --config: the file "
                           "describes every device" % option)
    try:
        bench = load(args.config)
    except BenchFileError as exc:
        raise BadInput(str(exc)) from None
    # The command line's --control takes the place of the file's.
    return (assemble.server(bench, control_path=args.control, once=args.once),
            ["%s: device %s: socket %s" % (args.config, d.name, d.socket)
             for d in bench.devices])


# -- the places it writes --------------------------------------------------------


def _check_places(args, control, sockets):
    """Every path it will create: in a directory that exists, short
    enough for a socket, each used once. Checked before anything is
    created, so a refusal leaves nothing behind. ``sockets`` are the
    devices' sockets as (what to call it, path)."""
    places = [(what, path, True) for what, path in sockets]
    if control is not None:
        places.append(("--control %s" % control, control, True))
    for option in ("state", "trace", "check_driver"):
        path = getattr(args, option)
        if path is not None:
            places.append(("--%s %s" % (option.replace("_", "-"), path),
                           path, False))
    # listen() binds a temporary name (PATH.PID.tmp), then renames it
    longest = MAX_SOCKET_PATH - len(".%d.tmp" % os.getpid())
    seen = {}
    for what, path, is_socket in places:
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise BadInput("%s: directory %s does not exist" % (what, folder))
        if not os.access(folder, os.W_OK | os.X_OK):
            raise BadInput("%s: directory %s is not writable" % (what, folder))
        size = len(os.fsencode(path))
        if is_socket and size > longest:
            raise BadInput("%s: too long for a UNIX socket: %d bytes, at "
                           "most %d" % (what, size, longest))
        key = os.path.abspath(path)
        if key in seen:
            raise BadInput("%s: the same path as %s" % (what, seen[key]))
        seen[key] = what


def _restore_state(path, backends):
    try:
        if saved_state.restore(path, backends):
            log.info("--state %s: lines restored", path)
    except saved_state.StateFileError as exc:
        raise BadInput("--state %s: %s; delete it (or name another file) to "
                       "start afresh" % (path, exc)) from None


def _require_trace():
    from ..trace import extra
    if extra.missing(("vcd",)):
        raise BadInput("--trace needs pyvcd, which is not installed: %s"
                       % extra.INSTALL)


def _open(server, args):
    """Listen on every socket, then open the trace; a failure closes all
    of it again and is one line."""
    try:
        server.open()
    except OSError as exc:
        where = " %s" % exc.filename if exc.filename else ""
        raise BadInput("cannot listen on%s: %s" % (
            where or " the sockets", exc.strerror or exc)) from None
    if args.trace:
        from ..trace.vcd import VcdRecorder
        try:
            server.recorders.append(VcdRecorder(args.trace, {
                b.name: [line.name for line in b.device.lines]
                for b in server.backends}))
        except OSError as exc:
            server.close()
            raise BadInput("--trace %s: %s" % (args.trace,
                                               exc.strerror or exc)) from None


def _check_drivers(report, backends):
    """Put the driver checker in front of every device."""
    stem, suffix = os.path.splitext(report)
    for backend in backends:
        if not isinstance(backend.device, StandardDevice):
            raise BadInput("--check-driver: %s speaks the 2020 protocol; the "
                           "checker knows the standard protocol's driver "
                           "requirements" % backend.name)
        backend.check_driver(report if len(backends) == 1 else
                             "%s.%s%s" % (stem, backend.name, suffix))


def main(argv=None):
    try:
        return _serve(parse_args(argv))
    except BadInput as exc:
        print("%s: error: %s" % (PROG, exc), file=sys.stderr)
        return 2


def _serve(args):
    logging.basicConfig(level=logging.DEBUG if args.verbose > 1 else
                        logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s: %(message)s")
    server, sockets = (_file_server if args.config
                       else _command_line_server)(args)
    _check_places(args, server.control_path,
                  zip(sockets, (b.socket_path for b in server.backends)))
    if args.trace:
        _require_trace()
    if args.state:
        _restore_state(args.state, server.backends)
    if args.check_driver:
        _check_drivers(args.check_driver, server.backends)
    keeper = saved_state.StateKeeper(server, args.state) if args.state \
        else None

    def stop(signum, frame):
        raise _Stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        _open(server, args)
    except _Stop:
        server.close()
        return 0
    try:
        server.serve()      # it closes every socket, however it ends
    except _Stop:
        log.info("signal: shutting down")
    finally:
        # A second signal now ends the process at once, without a
        # traceback from the middle of the last state write (which
        # leaves the previous file whole).
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if keeper is not None:
            keeper.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
