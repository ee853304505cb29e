"""Input generators, run by the server's timers: pulses, square waves and
scripted sequences on a device's input lines.

Their times count from the device's front end connecting, as a
``--script``'s do: a guest that is still booting would miss changes timed
from the backend's start. Each connection starts them afresh; when the
front end leaves, they stop. A generator keeps one timer at a time, its
next change, placed from the connection's time rather than from the last
change, so a square wave does not drift and one without end costs no
memory.
"""

import functools
import logging
import time

from ..vhost_user.backend import Backend
from ..vhost_user.protocol import ProtocolError
from .load import Pulse, Sequence, Square

log = logging.getLogger(__name__)


def changes(generator):
    """The ``(seconds, level)`` changes ``generator`` makes, in time
    order: endless for a square wave without a count."""
    if isinstance(generator, Pulse):
        yield generator.at, generator.level
        yield generator.at + generator.width, 1 - generator.level
    elif isinstance(generator, Square):
        period = 0
        while generator.count is None or period < generator.count:
            begin = generator.start + period * generator.period
            yield begin, 1
            yield begin + generator.duty * generator.period, 0
            period += 1
    elif isinstance(generator, Sequence):
        yield from generator.steps
    else:
        raise TypeError("not an input generator: %r" % (generator,))


def script_sequences(steps):
    """A ``--script``'s ``(seconds, line, level)`` steps as one
    :class:`~virtio_gpio.testbench.load.Sequence` per line."""
    by_line = {}
    for when, line, level in sorted(steps):
        by_line.setdefault(line, []).append((when, level))
    return [Sequence(line, changes) for line, changes in by_line.items()]


class StimulatedBackend(Backend):
    """A :class:`~virtio_gpio.vhost_user.backend.Backend` whose input
    ``generators`` start each time a front end connects."""

    def __init__(self, device, socket_path, name="gpio0", generators=()):
        super().__init__(device, socket_path, name)
        self.generators = list(generators)

    def accept(self):
        sock = super().accept()
        if sock is not None:
            origin = time.monotonic()
            for generator in self.generators:
                _Run(self, generator, origin).schedule_next()
        return sock


class _Run:
    """One generator for one connection of its backend."""

    def __init__(self, backend, generator, origin):
        self.backend = backend
        self.generator = generator
        self.origin = origin
        self.connection = backend.connections
        self.changes = changes(generator)
        self.warned = False

    def schedule_next(self):
        step = next(self.changes, None)
        if step is not None:
            when, level = step
            self.backend.server.call_later(
                self.origin + when - time.monotonic(),
                functools.partial(self.fire, level))

    def fire(self, level):
        backend = self.backend
        if backend.connections != self.connection or backend.conn is None:
            return  # its front end left: the generator stops with it
        line = self.generator.line
        try:
            backend.set_input(line, level)
        except (ValueError, ProtocolError) as exc:
            # The guest made the line an output, or its rings are broken:
            # this change is lost, the next ones are tried. Said once, so
            # that a fast square wave does not flood the log.
            if not self.warned:
                log.warning("%s: %s on line %d: %s (said once per "
                            "connection)", backend.name,
                            type(self.generator).__name__.lower(), line, exc)
                self.warned = True
        self.schedule_next()
