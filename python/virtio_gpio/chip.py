"""The Pythonic face of the driver core: a GPIO chip.

A :class:`Chip` probes the device through a transport, then offers the
operations gpiolib would call. Arguments are checked here (ValueError,
TypeError); failures of the core or the device raise
:class:`~virtio_gpio.errors.VirtioGpioError` carrying the errno.
"""

import contextlib
import dataclasses
import operator
from typing import Callable, List, Optional

from . import errors
from ._binding import ffi, lib
from .lines import Direction, Edge, Op

#: the protocols, in the order of the core's vgpio_core_protocol()
PROTOCOLS = ("id30", "standard")

STAT_FIELDS = tuple(name for name, _ in ffi.typeof("struct vgpio_stats").fields)


@contextlib.contextmanager
def _irq_descriptor_locked():
    """Where the kernel holds the irq descriptor's raw spinlock: the core
    must take no lock and touch no queue inside (the shim counts it)."""
    lib.vgpio_os_raw_enter()
    try:
        yield
    finally:
        lib.vgpio_os_raw_leave()


@dataclasses.dataclass(frozen=True)
class Event:
    """An interrupt the core reported on ``line``.

    ``rising`` is the new level's direction where the protocol tells it
    (ID 30: events carry the level); None where it does not (standard).
    """

    line: int
    rising: Optional[bool]


class Chip:
    """A probed virtio-gpio device.

    :param transport: any transport: its ``host`` (the core's host
        operations) and ``info`` describe the device; it runs the core's
        callbacks (``attach``, ``irq_handler``, ``reraise``), says what it
        saw go wrong at probe (``check_probe``), lets the device work
        (``run``) and frees its queues (``close``).
        :func:`virtio_gpio.simtransport.simulated_chip` builds one on a
        device model.
    :raises ProbeError: the core rejected the device
    """

    def __init__(self, transport):
        self._transport = transport
        self._core = ffi.NULL
        self._subscribers: List[Callable[[Event], None]] = []
        self._events: List[Event] = []
        core = ffi.new("struct vgpio_core **")
        why = ffi.new("const char **")
        ret = lib.vgpio_core_probe(ffi.addressof(lib.vgpio_uhost_ops),
                                   transport.host, transport.info, core, why)
        try:
            transport.check_probe()
        except BaseException:
            if not ret:
                lib.vgpio_core_destroy(core[0])
            raise
        if ret:
            raise errors.ProbeError(-ret, ffi.string(why[0]).decode())
        self._core = core[0]
        transport.attach(self._core)
        transport.irq_handler = self._on_irq
        ret = lib.vgpio_core_start(self._core)
        transport.reraise()
        if ret:
            self.close()
            raise errors.ProbeError(-ret, "starting the device")

    # -- lifetime --------------------------------------------------------

    def close(self):
        """Tear down as remove() does: kill, drain, free. Idempotent."""
        if self._core == ffi.NULL:
            return
        lib.vgpio_core_kill(self._core)
        self._transport.reraise()
        lib.vgpio_core_destroy(self._core)
        self._core = ffi.NULL
        self._transport.attach(ffi.NULL)
        self._transport.close()

    def freeze(self):
        """Quiesce and reset the device, as the driver's freeze does
        (suspend, hibernation, a transport's reset): operations from now
        on fail with ``ESHUTDOWN``; then the device forgets its state and
        its queues go."""
        core = self._live()
        lib.vgpio_core_quiesce(core)
        # No caller can be inside here: Python calls one at a time.
        lib.vgpio_core_detach(core)
        self._transport.reset_device()

    def restore(self):
        """New queues, and the device told again what it was told before
        :meth:`freeze`, as the driver's restore does."""
        core = self._live()
        self._transport.create_queues()
        ret = lib.vgpio_core_resume(core)
        self._transport.reraise()
        errors.check(ret, "restoring the device's state")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - nothing sensible to do at GC
            pass

    # -- description -----------------------------------------------------

    @property
    def transport(self):
        """The transport this chip talks through."""
        return self._transport

    @property
    def device(self):
        """The device model behind the transport."""
        return self._transport.device

    @property
    def protocol(self):
        """"id30" or "standard", as chosen from the device ID at probe."""
        return PROTOCOLS[lib.vgpio_core_protocol(self._live())]

    @property
    def name(self):
        """Device name from the config space ("" when it gave none)."""
        return ffi.string(lib.vgpio_core_name(self._live())).decode(
            errors="replace")

    @property
    def ngpio(self):
        """Number of lines."""
        return lib.vgpio_core_ngpio(self._live())

    def __len__(self):
        return self.ngpio

    @property
    def line_names(self):
        """One name per line; ``None`` where the device gave none."""
        names = lib.vgpio_core_line_names(self._live())
        return [None if names[i] == ffi.NULL
                else ffi.string(names[i]).decode(errors="replace")
                for i in range(self.ngpio)]

    @property
    def irq_lines(self):
        """How many lines, from line 0, can be watched (see the C accessor).

        All of them, but on a standard device whose eventq ring cannot
        hold a buffer for each line: :meth:`watch` refuses the others
        with ``ENOSPC``.
        """
        return lib.vgpio_core_irq_lines(self._live())

    @property
    def stats(self):
        """Counters of what the core saw, as a dict."""
        raw = lib.vgpio_core_stats(self._live())
        return {name: getattr(raw, name) for name in STAT_FIELDS}

    @property
    def last_error(self):
        """Errno (positive) of the last device message rejected, or 0."""
        return -lib.vgpio_core_last_error(self._live())

    # -- operations ------------------------------------------------------

    def _live(self):
        if self._core == ffi.NULL:
            raise ValueError("chip is closed")
        return self._core

    def _line(self, line):
        try:
            line = operator.index(line)
        except TypeError:
            raise TypeError("line must be an int, not %s"
                            % type(line).__name__) from None
        if not 0 <= line < self.ngpio:
            raise ValueError("line %d out of range 0..%d"
                             % (line, self.ngpio - 1))
        return line

    @staticmethod
    def _level(value):
        if isinstance(value, bool):
            return int(value)
        try:
            value = operator.index(value)
        except TypeError:
            raise TypeError("value must be 0 or 1") from None
        if value not in (0, 1):
            raise ValueError("value must be 0 or 1, not %d" % value)
        return value

    def _request(self, op, line, value=0):
        core = self._live()
        line = self._line(line)
        result = ffi.new("uint32_t *")
        ret = lib.vgpio_request(core, line, op, value, result)
        self._transport.reraise()
        errors.check(ret, "%s on line %d" % (Op(op).name, line))
        return result[0]

    def request(self, line):
        """Tell the device the line is going to be used."""
        self._request(Op.REQUEST, line)

    def free(self, line):
        """Tell the device the line is no longer used."""
        self._request(Op.FREE, line)

    def direction_input(self, line):
        """Make the line an input."""
        self._request(Op.DIRECTION_INPUT, line)

    def direction_output(self, line, value):
        """Make the line an output driving ``value``."""
        self._request(Op.DIRECTION_OUTPUT, line, self._level(value))

    def get_direction(self, line):
        """The line's direction, as a :class:`~virtio_gpio.lines.Direction`."""
        return Direction(self._request(Op.GET_DIRECTION, line))

    def get_value(self, line):
        """The line's level, 0 or 1."""
        return self._request(Op.GET_VALUE, line)

    def set_value(self, line, value):
        """Drive an output line; returns the level now driven."""
        return self._request(Op.SET_VALUE, line, self._level(value))

    # -- events ----------------------------------------------------------

    def watch(self, line, edge=Edge.BOTH):
        """Report ``edge`` changes (or levels) of the line as events.

        As the kernel's irq_chip does: set the type and enable under the
        irq descriptor's raw lock, then the bus sync, which tells a
        standard device the trigger type and arms its eventq buffer.
        """
        line = self._line(line)
        core = self._live()
        with _irq_descriptor_locked():
            ret = lib.vgpio_irq_set_type(core, line, Edge(edge))
            if not ret:
                ret = lib.vgpio_irq_enable(core, line, edge != Edge.NONE)
        errors.check(ret, "trigger %s on line %d" % (Edge(edge).name, line))
        self._irq_sync(line)

    def mask(self, line, masked=True):
        """Mask (or unmask) the line's interrupt, as the kernel does
        outside a handler: under the descriptor's raw lock, then the bus
        sync, which hands an unmasked line's buffer back."""
        line = self._line(line)
        with _irq_descriptor_locked():
            ret = lib.vgpio_irq_mask(self._live(), line, masked)
        errors.check(ret)
        self._irq_sync(line)

    def _irq_sync(self, line):
        ret = lib.vgpio_irq_sync(self._live(), line)
        self._transport.reraise()
        errors.check(ret, "interrupt setup of line %d" % line)

    def unwatch(self, line):
        """Stop reporting events of the line."""
        self.watch(line, Edge.NONE)

    def subscribe(self, callback):
        """Call ``callback(event)`` for every event, as it arrives."""
        self._subscribers.append(callback)

    def read_events(self):
        """Events since the last call, oldest first."""
        events, self._events = self._events, []
        return events

    def _on_irq(self, line):
        level = lib.vgpio_line_level(self._core, line)
        event = Event(line=line, rising=None if level < 0 else level == 1)
        self._events.append(event)
        for callback in self._subscribers:
            callback(event)

    # -- convenience for simulations -------------------------------------

    def poll(self):
        """Let the device run (deliver pending events and replies)."""
        self._live()
        self._transport.run()
