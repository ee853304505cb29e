"""A short tour of the driver core against the simulated device.

``python -m virtio_gpio.demo`` (the README's main command runs it) probes a
simulated chip, drives lines, watches an input, injects two faults and
prints what the core saw. No hardware and no VM needed.
"""

import argparse
import sys

from .clitext import plain, require_core


def main(argv=None):
    argparse.ArgumentParser(prog="vgpio-demo",
                            description=plain(__doc__)).parse_args(argv)
    require_core("vgpio-demo")
    # Here, not at the top: the chip loads the core, which --help does not
    # need and require_core has just checked.
    from . import Edge, Fault, VirtioGpioError, simulated_chip
    names = ["led0", "led1", "button", "", "reset"]
    with simulated_chip(names, name="demo-gpio") as chip:
        print("chip %r: %d lines %s" % (chip.name, chip.ngpio, chip.line_names))
        chip.request(0)
        chip.direction_output(0, 1)
        print("led0: direction=%s value=%d"
              % (chip.get_direction(0).name, chip.get_value(0)))
        chip.set_value(0, 0)
        print("led0 after set_value(0): %d" % chip.get_value(0))

        chip.direction_input(2)
        chip.watch(2, Edge.BOTH)
        for level in (1, 0, 1):
            chip.transport.set_input(2, level)
        for event in chip.read_events():
            print("event: line %d %s" % (event.line,
                                         "rising" if event.rising else "falling"))

        try:
            chip.set_value(2, 1)
        except VirtioGpioError as exc:
            print("set_value on an input: %s" % exc)

        chip.device.inject(Fault.DROP)
        try:
            chip.get_value(0)
        except VirtioGpioError as exc:
            print("dropped reply: %s" % exc)
        # One timeout marks the device silent: later requests fail at once
        # until it answers anything, here the ping the timeout sent.
        try:
            chip.get_value(0)
        except VirtioGpioError as exc:
            print("while the device is silent, at once: %s" % exc)
        chip.transport.run()
        print("once the device answers again: value=%d" % chip.get_value(0))

        chip.device.inject(Fault.CORRUPT_LINE)
        try:
            chip.get_value(1)
        except VirtioGpioError as exc:
            print("corrupted reply rejected, request: %s" % exc)

        stats = {k: v for k, v in chip.stats.items() if v}
        print("core counters: %s" % stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
