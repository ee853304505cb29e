"""A model of the standardized virtio GPIO device (virtio 1.2, device ID 41).

Like :class:`~virtio_gpio.devices.id30.Id30Device`, it knows nothing about rings:
a transport hands it the device-readable part of a request chain and the
size of the device-writable part, and gets back the bytes to write and the
used length to report. Interrupt requests (eventq) are held per line until
the line's trigger condition is met, then completed; setting a line's
interrupt type to NONE returns its held buffer as invalid, as the spec
requires. Every eventq completion, whatever caused it, is queued for the
transport to collect with :meth:`StandardDevice.take_irq_completions`.

Wire format (little-endian): config {le16 ngpio, u8 padding[2], le32
gpio_names_size}; request {le16 type, le16 gpio, le32 value}; response
{u8 status, u8 value} (GET_LINE_NAMES: {u8 status, u8 names[size]});
irq request {le16 gpio}, irq response {u8 status}.

The message types, directions, trigger types and status values below are
typed from the virtio specification, not taken from the driver's header
(``kernel/vgpio_std_proto.h``): the model is an independent oracle, so
that a wrong value in the header fails the tests instead of agreeing with
itself. ``tests/test_standard_device.py`` checks that the two agree. The
2020 protocol has no specification beside ours, so its model takes the
header's values (:mod:`virtio_gpio.protocol`).
"""

import collections
import dataclasses
import enum
import struct
from typing import Dict, List, Optional

from .._binding import lib
from .base import (FORGED_TOKEN, USED_LEN_MAX, ConfigFault, DeviceModel,
                   Fault, Outgoing)

DEVICE_ID = lib.VGPIO_STD_DEVICE_ID
F_IRQ = 1 << lib.VGPIO_STD_F_IRQ
NAMES_MAX = lib.VGPIO_STD_NAMES_MAX

#: faults that make sense where a response travels in its request's chain
FAULTS = frozenset({Fault.DROP, Fault.DELAY, Fault.CORRUPT_TYPE,
                    Fault.CORRUPT_VALUE, Fault.SHORT_LEN, Fault.LONG_LEN,
                    Fault.ZERO_LEN, Fault.HUGE_LEN, Fault.FORGED_EVENT})

CONFIG = struct.Struct("<HxxI")
REQUEST = struct.Struct("<HHI")
IRQ_REQUEST = struct.Struct("<H")

STATUS_OK = 0
STATUS_ERR = 1
IRQ_STATUS_INVALID = 0
IRQ_STATUS_VALID = 1


class Msg(enum.IntEnum):
    """Request types on the requestq."""

    GET_LINE_NAMES = 0x0001
    GET_DIRECTION = 0x0002
    SET_DIRECTION = 0x0003
    GET_VALUE = 0x0004
    SET_VALUE = 0x0005
    SET_IRQ_TYPE = 0x0006


class Direction(enum.IntEnum):
    NONE = 0x00
    OUT = 0x01
    IN = 0x02


class IrqType(enum.IntEnum):
    NONE = 0x00
    EDGE_RISING = 0x01
    EDGE_FALLING = 0x02
    EDGE_BOTH = 0x03
    LEVEL_HIGH = 0x04
    LEVEL_LOW = 0x08


@dataclasses.dataclass
class IrqCompletion:
    """An eventq chain the device returns: which one, and its status."""

    token: object
    line: int
    payload: bytes
    used_len: int


@dataclasses.dataclass
class StdLine:
    """One line: ``value`` is its level, ``out_value`` what it drives as an output."""

    name: str = ""
    direction: Direction = Direction.IN
    value: int = 0
    out_value: int = 0
    irq_type: IrqType = IrqType.NONE
    irq_token: Optional[object] = None


class StandardDevice(DeviceModel):
    """Device model for the virtio 1.2 GPIO device.

    :param lines: number of lines, or a sequence of line names
    :param irq: offer VIRTIO_GPIO_F_IRQ (and the eventq)
    :param config_fault: make the config space invalid in this way
    :param loopback: {output line: input line} wired together, so a guest
        can raise its own edges (the benchmark times them this way)
    """

    line_class = StdLine
    device_id = DEVICE_ID

    def __init__(self, lines=8, irq=True,
                 config_fault: Optional[ConfigFault] = None,
                 loopback: Optional[Dict[int, int]] = None):
        super().__init__(lines)
        self.irq = irq
        self.config_fault = config_fault
        self.loopback = dict(loopback or {})
        for out, into in self.loopback.items():
            if out == into or not (0 <= out < len(self.lines) and
                                   0 <= into < len(self.lines)):
                raise ValueError("bad loopback %d -> %d" % (out, into))
        self.irq_out: List[IrqCompletion] = []
        #: the most recent raw requests, for tests that check the encoding
        self.received = collections.deque(maxlen=1024)

    # -- identity ----------------------------------------------------------

    @property
    def features(self):
        return F_IRQ if self.irq else 0

    def config_space(self):
        """The 8-byte config space; each field is read at its own width."""
        names = self.names_block() if any(l.name for l in self.lines) else b""
        ngpio, size = len(self.lines), len(names)
        if self.config_fault is ConfigFault.ZERO_LINES:
            ngpio = 0
        elif self.config_fault is ConfigFault.TOO_MANY_LINES:
            ngpio = 0xFFFF
        elif self.config_fault is ConfigFault.NAMES_BEYOND_SPACE:
            size = NAMES_MAX + 1
        elif self.config_fault is not None:
            raise ValueError("%s has no standard-protocol equivalent"
                             % self.config_fault)
        return CONFIG.pack(ngpio, size)

    def inject(self, fault: Fault, count=1):
        if Fault(fault) not in FAULTS:
            raise ValueError("%s cannot happen in the standard protocol"
                             % fault)
        if Fault(fault) is Fault.FORGED_EVENT:
            # Not a reply: returned with the next eventq completions.
            self.irq_out.extend(
                IrqCompletion(FORGED_TOKEN, -1, bytes([IRQ_STATUS_VALID]), 1)
                for _ in range(count))
            return
        super().inject(fault, count)

    # -- requestq ----------------------------------------------------------

    def _answer(self, msg_type, gpio, value):
        """(status, value byte or bytes) for one request."""
        if msg_type == Msg.GET_LINE_NAMES:
            if gpio or value:
                return STATUS_ERR, 0
            return STATUS_OK, self.names_block()
        if gpio >= len(self.lines):
            return STATUS_ERR, 0
        line = self.lines[gpio]
        if msg_type == Msg.GET_DIRECTION:
            return STATUS_OK, int(line.direction)
        if msg_type == Msg.SET_DIRECTION:
            if value not in tuple(Direction):
                return STATUS_ERR, 0
            line.direction = Direction(value)
            if line.direction == Direction.OUT:
                line.value = line.out_value
                self._loop(gpio)
            return STATUS_OK, 0
        if msg_type == Msg.GET_VALUE:
            return STATUS_OK, line.value
        if msg_type == Msg.SET_VALUE:
            # Drivers set the value before switching to output (no glitch),
            # so it is kept for a line that is not an output yet.
            if value not in (0, 1):
                return STATUS_ERR, 0
            line.out_value = value
            if line.direction == Direction.OUT:
                line.value = value
                self._loop(gpio)
            return STATUS_OK, 0
        if msg_type == Msg.SET_IRQ_TYPE:
            if not self.irq or value not in tuple(IrqType):
                return STATUS_ERR, 0
            line.irq_type = IrqType(value)
            if line.irq_type == IrqType.NONE and line.irq_token is not None:
                self._complete(gpio, IRQ_STATUS_INVALID)
            else:
                self._level_fire(gpio)
            return STATUS_OK, 0
        return STATUS_ERR, 0

    def handle(self, request: bytes, writable: int,
               token=None) -> Optional[Outgoing]:
        """Answer one requestq chain: the bytes for its device-writable part
        and the used length; None when the device keeps the chain (a
        delayed reply comes back from ``release_delayed()`` with
        ``token``, the chain's identity)."""
        self.requests_seen += 1
        self.received.append(bytes(request))
        if len(request) != REQUEST.size:
            return Outgoing(bytes([STATUS_ERR]), 1)
        msg_type, gpio, value = REQUEST.unpack(request)
        status, result = self._answer(msg_type, gpio, value)
        if msg_type == Msg.GET_LINE_NAMES and status == STATUS_OK:
            payload = bytes([status]) + result
        else:
            payload = bytes([status, result if isinstance(result, int) else 0])
        if self._take_fault(Fault.CORRUPT_TYPE):
            payload = bytes([0x7F]) + payload[1:]
        if self._take_fault(Fault.CORRUPT_VALUE):
            payload = payload[:1] + bytes([0x42]) + payload[2:]
        used = min(len(payload), writable)
        if self._take_fault(Fault.SHORT_LEN):
            used = 1 if used > 1 else 0
        if self._take_fault(Fault.LONG_LEN):
            used = writable + 64
        if self._take_fault(Fault.ZERO_LEN):
            used = 0
        if self._take_fault(Fault.HUGE_LEN):
            used = USED_LEN_MAX
        reply = Outgoing(payload[:writable], used, token)
        if self._take_fault(Fault.DROP):
            return None
        if self._take_fault(Fault.DELAY):
            self.delayed.append(reply)
            return None
        return reply

    # -- eventq ------------------------------------------------------------

    def take_irq_completions(self) -> List[IrqCompletion]:
        """eventq chains to return to the driver, oldest first."""
        out, self.irq_out = self.irq_out, []
        return out

    def queue_irq(self, request: bytes, token):
        """The driver posts an irq buffer (``token`` identifies the chain)."""
        if len(request) != IRQ_REQUEST.size:
            self.irq_out.append(IrqCompletion(token, -1, bytes([IRQ_STATUS_INVALID]), 1))
            return
        (gpio,) = IRQ_REQUEST.unpack(request)
        if (not self.irq or gpio >= len(self.lines) or
                self.lines[gpio].irq_type == IrqType.NONE or
                self.lines[gpio].irq_token is not None):
            self.irq_out.append(IrqCompletion(token, gpio, bytes([IRQ_STATUS_INVALID]), 1))
            return
        self.lines[gpio].irq_token = token
        self._level_fire(gpio)

    def _complete(self, gpio, status):
        line = self.lines[gpio]
        token, line.irq_token = line.irq_token, None
        self.irq_out.append(IrqCompletion(token, gpio, bytes([status]), 1))

    def _level_fire(self, gpio):
        line = self.lines[gpio]
        if line.irq_token is None:
            return
        if (line.irq_type == IrqType.LEVEL_HIGH and line.value == 1 or
                line.irq_type == IrqType.LEVEL_LOW and line.value == 0):
            self._complete(gpio, IRQ_STATUS_VALID)

    def _loop(self, gpio):
        """An output drives the input wired to it, if that one is an input."""
        into = self.loopback.get(gpio)
        if into is not None and self.lines[into].direction != Direction.OUT:
            self.set_input(into, self.lines[gpio].value)

    def set_input(self, gpio, level):
        """Drive an input line; completes its irq buffer when triggered."""
        if level not in (0, 1):
            raise ValueError("level must be 0 or 1")
        line = self.lines[gpio]
        if line.direction == Direction.OUT:
            raise ValueError("line %d is an output" % gpio)
        old, line.value = line.value, level
        if line.irq_token is None:
            return
        edge = (IrqType.EDGE_RISING if level > old else
                IrqType.EDGE_FALLING if level < old else 0)
        if line.irq_type & edge:
            self._complete(gpio, IRQ_STATUS_VALID)
        else:
            self._level_fire(gpio)

    def forget_irq_buffers(self):
        """The driver went away: its held irq buffers are gone with it."""
        for line in self.lines:
            line.irq_token = None
        self.irq_out = []

    def held_irq_lines(self) -> Dict[int, object]:
        """Lines whose irq buffer the device holds, with its token."""
        return {n: l.irq_token for n, l in enumerate(self.lines)
                if l.irq_token is not None}
