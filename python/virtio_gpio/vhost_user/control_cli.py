"""vgpio-ctl: drive a running vgpio-vhost-user through its control socket.

Each subcommand sends one JSON command to the socket given with
``--control`` to the backend and prints the answer:

* ``set-input LINE LEVEL`` - the outside world drives an input line;
* ``inject FAULT [COUNT]`` - the next COUNT replies misbehave (the
  backend's ``--fault`` kinds);
* ``state`` - the device model's lines, counters and connections
  (``--json`` for the raw answer);
* ``stop`` - the backend shuts down.
"""

import argparse
import json
import logging
import sys

from ..clitext import plain
from .control import send_control

log = logging.getLogger(__name__)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="vgpio-ctl", description=plain(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--control", required=True,
                        help="the backend's control socket (its --control)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log each command sent (-v)")
    sub = parser.add_subparsers(dest="command", required=True)
    set_input = sub.add_parser("set-input", help="drive an input line")
    set_input.add_argument("line", type=int)
    set_input.add_argument("level", type=int, choices=(0, 1))
    inject = sub.add_parser("inject", help="misbehave in the next replies")
    inject.add_argument("fault")
    inject.add_argument("count", type=int, nargs="?", default=1)
    state = sub.add_parser("state", help="print the device model's state")
    state.add_argument("--json", action="store_true",
                       help="the raw JSON answer")
    sub.add_parser("stop", help="shut the backend down")
    return parser.parse_args(argv)


def command_of(args):
    """The control socket's JSON command for the parsed arguments."""
    if args.command == "set-input":
        return {"cmd": "set_input", "line": args.line, "level": args.level}
    if args.command == "inject":
        return {"cmd": "inject", "fault": args.fault, "count": args.count}
    return {"cmd": args.command}


def describe(state):
    """The ``state`` answer as lines of text."""
    out = []
    for number, line in enumerate(state["lines"]):
        irq = " irq=%s" % line["irq"] if "irq" in line else ""
        out.append("line %d %-12s direction=%-4s value=%s%s" % (
            number, '"%s"' % line["name"], line["direction"], line["value"],
            irq))
    out.append("requests seen: %s, connected: %s, connections: %s" % (
        state["requests"], state["connected"], state["connections"]))
    return out


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else
                        logging.WARNING, format="%(name)s: %(message)s")
    command = command_of(args)
    log.info("sending %s", command)
    try:
        answer = send_control(args.control, command)
    except OSError as exc:
        print("vgpio-ctl: %s: %s" % (args.control, exc), file=sys.stderr)
        return 1
    if "error" in answer:
        print("vgpio-ctl: %s" % answer["error"], file=sys.stderr)
        return 1
    if args.command == "state" and not args.json:
        print("\n".join(describe(answer)))
    else:
        print(json.dumps(answer, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
