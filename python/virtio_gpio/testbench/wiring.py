"""Wires between lines: what the guest drives on one line becomes the
input level of another, on the same device or on another one.

:class:`Wiring` is a server event hook (see
:attr:`~virtio_gpio.vhost_user.server.Server.event_hooks`): it hears every
``drive`` the device models report and sets the wired input through its
backend, so the guest on the other end hears the change as any input
change (an event, an interrupt). The input is set from the server's loop
right after the event, not inside it: the event is told while the model
is answering a request, and setting an input of that same device there
would enter its loop a second time.
"""

import functools
import logging

from ..vhost_user.protocol import ProtocolError

log = logging.getLogger(__name__)


class Wiring:
    """The ``wires`` (:class:`~virtio_gpio.testbench.load.Wire`: a source
    and a target, each a (device name, line number)) of ``server``'s
    devices, hooked into its events."""

    def __init__(self, server, wires):
        self.server = server
        #: (device, line) -> the inputs it drives
        self.targets = {}
        #: (device, line) -> the line driving it
        self.sources = {}
        for wire in wires:
            for end in (wire.source, wire.target):
                server.backend(end[0])     # raises for an unknown device
            self.targets.setdefault(wire.source, []).append(wire.target)
            self.sources[wire.target] = wire.source
        #: targets already warned about being outputs, until they are not
        self._warned = set()
        server.event_hooks.append(self.on_event)

    def on_event(self, event):
        here = (event["device"], event["line"])
        if event["event"] == "drive":
            for target in self.targets.get(here, ()):
                self._later(target, event["value"])
        elif event["event"] == "direction":
            if event["value"] != "out":
                self._warned.discard(here)
            source = self.sources.get(here)
            # An input the guest takes back gets what its wire carries.
            if source is not None and event["value"] == "in" and \
                    self._is_output(source):
                self._later(here, self._level(source))

    def _later(self, target, level):
        self.server.call_later(0, functools.partial(self._drive, target,
                                                    level))

    def _drive(self, target, level):
        backend = self.server.backend(target[0])
        try:
            backend.set_input(target[1], level)
        except (ValueError, ProtocolError) as exc:
            # The guest has the target as an output: the wire waits until
            # it is an input again (on_event). Said once until then.
            if target not in self._warned:
                self._warned.add(target)
                log.warning("%s: wire into line %d: %s", backend.name,
                            target[1], exc)

    def _line(self, end):
        return self.server.backend(end[0]).device.lines[end[1]]

    def _is_output(self, end):
        return self._line(end).direction.name == "OUT"

    def _level(self, end):
        return self._line(end).value
