"""vgpio-vhost-user: serve a simulated virtio-gpio device over vhost-user.

Attach it to a User-Mode Linux guest with
``virtio_uml.device=SOCKET:30`` on the kernel command line (or to any
vhost-user front end that lets you choose the device ID); with
``--protocol standard`` it serves the virtio 1.2 GPIO device instead (ID 41,
QEMU's vhost-user-gpio-pci). The device is the same model the unit tests
drive; ``--control`` opens a second socket taking
one JSON command per connection ({"cmd": "set_input", "line": 2,
"level": 1}, {"cmd": "state"}, {"cmd": "inject", "fault": "drop"},
{"cmd": "noop", "on": true}, {"cmd": "stop"}), which ``vgpio-ctl`` sends.
"""

import argparse
import logging
import signal
import sys

from ..clitext import plain
from ..devices import ConfigFault, Fault, Id30Device
from ..devices.standard import StandardDevice
from .backend import Backend
from .server import Server


log = logging.getLogger(__name__)


class _Stop(Exception):
    pass


def parse_script(path):
    """Lines of 'SECONDS LINE LEVEL' (comments with #), sorted by time."""
    steps = []
    with open(path) as f:
        for number, text in enumerate(f, 1):
            text = text.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                when, line, level = text.split()
                steps.append((float(when), int(line), int(level)))
            except ValueError:
                raise SystemExit("%s:%d: expected 'SECONDS LINE LEVEL'"
                                 % (path, number)) from None
    return sorted(steps)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="vgpio-vhost-user",
                                     description=plain(__doc__),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    # -s/--socket-path as rust-vmm's vhost-device-gpio has it; --socket
    # is this tool's older spelling.
    parser.add_argument("-s", "--socket-path", "--socket", dest="socket",
                        required=True, help="vhost-user socket to listen on")
    lines = parser.add_mutually_exclusive_group()
    lines.add_argument("--lines", type=int, default=8, help="number of unnamed lines")
    lines.add_argument("--names", help="comma-separated line names (sets the count)")
    parser.add_argument("--protocol", choices=("id30", "standard", "seed"),
                        default="id30",
                        help="id30: the 2020 proposal's protocol (attach as "
                             "device ID 30; 'seed' is its deprecated old "
                             "name); standard: virtio 1.2 GPIO (device ID 41, "
                             "e.g. QEMU's vhost-user-gpio-pci)")
    parser.add_argument("--no-irq", action="store_true",
                        help="standard protocol: do not offer VIRTIO_GPIO_F_IRQ")
    parser.add_argument("--loopback", action="append", default=[], metavar="OUT:IN",
                        help="standard protocol: output line OUT drives input line IN")
    parser.add_argument("--name", default="virtio-gpio-sim",
                        help="device name (2020 protocol only)")
    parser.add_argument("--script", help="file of 'SECONDS LINE LEVEL' input changes")
    parser.add_argument("--fault", action="append", default=[], metavar="KIND[:COUNT]",
                        help="inject a fault into the next COUNT replies; KIND is one of "
                             + ", ".join(f.value for f in Fault))
    parser.add_argument("--config-fault", choices=[f.value for f in ConfigFault],
                        help="present an invalid config space")
    parser.add_argument("--control", help="control socket (JSON commands)")
    parser.add_argument("--once", action="store_true",
                        help="exit when the front end disconnects (default: wait for the next)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log connections and faults (-v), and every "
                             "vhost-user message (-vv)")
    args = parser.parse_args(argv)
    if args.protocol == "seed":
        print("vgpio-vhost-user: --protocol seed is deprecated, use "
              "--protocol id30", file=sys.stderr)
        args.protocol = "id30"
    return args


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose > 1 else
                        logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s: %(message)s")
    lines = args.names.split(",") if args.names else args.lines
    if args.protocol == "standard":
        if args.config_fault:
            raise SystemExit("--config-fault applies to the 2020 protocol only")
        try:
            loopback = dict(tuple(int(n) for n in spec.split(":"))
                            for spec in args.loopback)
            device = StandardDevice(lines, irq=not args.no_irq,
                                    loopback=loopback)
        except ValueError as exc:
            raise SystemExit("bad --loopback: %s" % exc) from None
    else:
        if args.loopback:
            raise SystemExit("--loopback applies to the standard protocol only")
        device = Id30Device(lines, name=args.name,
                            config_fault=ConfigFault(args.config_fault)
                            if args.config_fault else None)
    for spec in args.fault:
        kind, _, count = spec.partition(":")
        try:
            device.inject(Fault(kind), int(count or 1))
        except ValueError:
            raise SystemExit("bad --fault %r" % spec) from None
    backend = Backend(device, args.socket)
    if args.script:
        backend.script = parse_script(args.script)
    server = Server([backend], control_path=args.control, once=args.once)

    def stop(signum, frame):
        raise _Stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve()
    except _Stop:
        log.info("signal: shutting down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
