"""vgpio-conform: check a virtio GPIO backend against the specification.

``vgpio-conform device -s SOCKET`` connects to a vhost-user GPIO backend
(virtio device ID 41: ours, rust-vmm's vhost-device-gpio, any other) as a
guest's front end would, and checks every device-side statement of the
virtio 1.4 GPIO section it can observe, and the vhost-user steps a GPIO
front end takes. It prints, per requirement, its id, pass, fail or not
applicable, the statement, and the evidence (the bytes seen, in hex).

``--control CTL`` names a control socket taking ``{"cmd": "set_input",
"line": N, "level": 0|1}`` (vgpio-vhost-user's ``--control``): the
checker then drives the input line itself, and checks edges, levels and
latching; without it, those checks are not applicable. The checker
drives line 0 as an output and line 1 as an input: use a simulated
device, or hardware where that is harmless.

Exit status: 0 conformant (nothing failed); 1 a requirement failed; 2
bad usage, or no backend (or control socket) to connect to. Errors are
one line on standard error.
"""

import argparse
import math
import sys

from ..clitext import plain
from .device_checker import TIMEOUT, CannotConnect, check_device
from .results import as_json, as_table

CONFORMANT, FAILED, CANNOT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (the subcommand's parser is one too)."""

    def error(self, message):
        self.exit(CANNOT, "%s: %s (see --help)\n" % (self.prog, message))


def seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            "%s: a number of seconds above 0" % text)
    return value


def parse_args(argv):
    parser = _Parser(prog="vgpio-conform", description=plain(__doc__),
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND",
                                     parser_class=_Parser, required=True)
    device = commands.add_parser(
        "device", help="check a vhost-user GPIO backend",
        description="Check the vhost-user GPIO backend listening on SOCKET.")
    device.add_argument("-s", "--socket-path", dest="socket", required=True,
                        help="the backend's vhost-user socket")
    device.add_argument("--control", metavar="CTL",
                        help="the backend's control socket: the checker "
                             "drives input lines through it")
    device.add_argument("--device", metavar="NAME",
                        help="the device's name on a control socket that "
                             "serves several")
    device.add_argument("--format", choices=("table", "json"),
                        default="table", help="text table (default) or JSON")
    device.add_argument("--timeout", type=seconds, default=TIMEOUT,
                        metavar="S",
                        help="seconds to wait for any answer (default %g)"
                             % TIMEOUT)
    device.add_argument("--hold", type=seconds, metavar="S",
                        help="seconds a buffer must stay with the device "
                             "to count as held (default: a quarter of "
                             "--timeout, at most 0.5)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        results = check_device(args.socket, control=args.control,
                               device=args.device, timeout=args.timeout,
                               hold=args.hold)
    except CannotConnect as exc:
        print("vgpio-conform: %s" % exc, file=sys.stderr)
        return CANNOT
    rows = results.rows()
    if args.format == "json":
        print(as_json(rows, socket=args.socket, control=args.control,
                      timeout=args.timeout))
    else:
        print(as_table(rows, "vgpio-conform device: %s%s" % (
            args.socket, ", control %s" % args.control if args.control
            else "")))
    return FAILED if results.failed() else CONFORMANT


if __name__ == "__main__":
    sys.exit(main())
