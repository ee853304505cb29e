"""A model of the standardized virtio GPIO device (virtio 1.2, device ID 41).

Like :class:`~virtio_gpio.devices.id30.Id30Device`, it knows nothing about
rings: it answers request chains (the device-readable bytes and the room in
the device-writable part) with the bytes to write and the used length to
report. Interrupt requests (eventq) are held per line until the line's
trigger condition is met, then completed; setting a line's interrupt type
to NONE returns its held buffer as invalid, as the spec requires. Every
eventq completion, whatever caused it, is queued for
:meth:`~virtio_gpio.devices.base.DeviceModel.take_events`.

Its values come from :mod:`virtio_gpio.wire.standard`, typed from the
specification rather than from the driver's header, so the model is an
independent oracle for the driver core.
"""

import collections
import dataclasses
from typing import Dict, List, Optional

from ..wire import standard as wire
from ..wire.standard import (CONFIG, IRQ_REQUEST, NAMES_MAX, REQUEST,
                             Direction, IrqStatus, IrqType, Msg, Status)
from .base import (FORGED_TOKEN, USED_LEN_MAX, ConfigFault, DeviceModel,
                   Fault, Outgoing)

DEVICE_ID = wire.DEVICE_ID
F_IRQ = 1 << wire.F_IRQ

#: faults that make sense where a response travels in its request's chain
FAULTS = frozenset({Fault.DROP, Fault.DELAY, Fault.CORRUPT_TYPE,
                    Fault.CORRUPT_VALUE, Fault.SHORT_LEN, Fault.LONG_LEN,
                    Fault.ZERO_LEN, Fault.HUGE_LEN, Fault.FORGED_EVENT,
                    Fault.CORRUPT_IRQ_STATUS})

#: the status byte of an eventq buffer completed under
#: Fault.CORRUPT_IRQ_STATUS: neither VALID nor INVALID
CORRUPT_IRQ_STATUS = 0x7F

#: the config faults the standard device's 8-byte config can show
STANDARD_CONFIG_FAULTS = (ConfigFault.ZERO_LINES, ConfigFault.TOO_MANY_LINES,
                          ConfigFault.NAMES_BEYOND_SPACE)

STATUS_OK = Status.OK
STATUS_ERR = Status.ERR
IRQ_STATUS_INVALID = IrqStatus.INVALID
IRQ_STATUS_VALID = IrqStatus.VALID

#: how line events name the trigger types
IRQ_TYPE_NAMES = {IrqType.NONE: "none", IrqType.EDGE_RISING: "rising",
                  IrqType.EDGE_FALLING: "falling", IrqType.EDGE_BOTH: "both",
                  IrqType.LEVEL_HIGH: "high", IrqType.LEVEL_LOW: "low"}


@dataclasses.dataclass
class StdLine:
    """One line: ``value`` is its level, ``out_value`` what it drives as an output."""

    name: str = ""
    direction: Direction = Direction.IN
    value: int = 0
    out_value: int = 0
    irq_type: IrqType = IrqType.NONE
    irq_token: Optional[object] = None
    #: an edge that came while the interrupt was enabled but masked (no
    #: eventq buffer held): delivered when the next buffer comes
    latched: bool = False


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
                             % Fault(fault).value)
        if Fault(fault) is Fault.FORGED_EVENT:
            self._check_fault_count(count)
            # Not a reply: returned with the next eventq completions.
            self.events.extend(
                Outgoing(bytes([IRQ_STATUS_VALID]), 1, FORGED_TOKEN)
                for _ in range(count))
            return
        super().inject(fault, count)

    # -- requestq ----------------------------------------------------------

    def _answer(self, msg_type, line_no, value):
        """(status, value byte or bytes) for one request."""
        if msg_type == Msg.GET_LINE_NAMES:
            if line_no or value:
                return STATUS_ERR, 0
            return STATUS_OK, self.names_block()
        if line_no >= len(self.lines):
            return STATUS_ERR, 0
        line = self.lines[line_no]
        if msg_type == Msg.GET_DIRECTION:
            return STATUS_OK, int(line.direction)
        if msg_type == Msg.SET_DIRECTION:
            if value not in tuple(Direction):
                return STATUS_ERR, 0
            line.direction = Direction(value)
            self.tell("direction", line_no, line.direction.name.lower())
            if line.direction == Direction.NONE:
                # The line's state goes (the spec's "discard all state
                # information"): its trigger type, a latched edge, the
                # value kept for output. A held buffer comes back invalid.
                self._set_irq_type(line_no, IrqType.NONE)
                line.out_value = 0
            if line.direction == Direction.OUT:
                line.value = line.out_value
                self.tell("drive", line_no, line.value)
                self._loop(line_no)
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
                self.tell("drive", line_no, value)
                self._loop(line_no)
            return STATUS_OK, 0
        if msg_type == Msg.SET_IRQ_TYPE:
            if not self.irq or value not in tuple(IrqType):
                return STATUS_ERR, 0
            self._set_irq_type(line_no, IrqType(value))
            return STATUS_OK, 0
        return STATUS_ERR, 0

    def _set_irq_type(self, line_no, irq_type):
        line = self.lines[line_no]
        changed = line.irq_type != irq_type
        line.irq_type = irq_type
        if changed:
            self.tell("irq_type", line_no, IRQ_TYPE_NAMES[irq_type])
        if irq_type == IrqType.NONE:
            line.latched = False     # disabled: a latched edge is dropped
            if line.irq_token is not None:
                self._complete(line_no, IRQ_STATUS_INVALID)
        else:
            self._level_fire(line_no)

    def process(self, chains) -> List[Outgoing]:
        """Answer a batch of requestq chains. A reply held back by
        ``Fault.DELAY`` goes out first, when the next requests come."""
        replies = self.release_delayed() if chains else []
        for chain in chains:
            reply = self.handle(chain.readable, chain.writable, chain.token)
            if reply is not None:
                replies.append(reply)
        return replies

    def handle(self, request: bytes, writable: int,
               token=None) -> Optional[Outgoing]:
        """Answer one requestq chain: the bytes for its device-writable part
        and the used length; None when the device keeps the chain (a
        delayed reply comes back from ``release_delayed()`` with
        ``token``, the chain's identity)."""
        self.requests_seen += 1
        self.received.append(bytes(request))
        if len(request) != REQUEST.size:
            return Outgoing(bytes([STATUS_ERR])[:writable],
                            min(1, writable), token)
        msg_type, line_no, value = REQUEST.unpack(request)
        status, result = self._answer(msg_type, line_no, value)
        if msg_type == Msg.GET_LINE_NAMES and status == STATUS_OK:
            payload = bytes([status]) + result
        else:
            payload = bytes([status, result if isinstance(result, int) else 0])
        used = min(len(payload), writable)
        if not self.faults:
            return Outgoing(payload[:writable], used, token)
        if self._take_fault(Fault.CORRUPT_TYPE):
            payload = bytes([0x7F]) + payload[1:]
        if self._take_fault(Fault.CORRUPT_VALUE):
            payload = payload[:1] + bytes([0x42]) + payload[2:]
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

    def queue_irq(self, request: bytes, token):
        """The driver posts an irq buffer (``token`` identifies the chain)."""
        if len(request) != IRQ_REQUEST.size:
            self.events.append(Outgoing(bytes([IRQ_STATUS_INVALID]), 1, token))
            return
        (line_no,) = IRQ_REQUEST.unpack(request)
        if (not self.irq or line_no >= len(self.lines) or
                self.lines[line_no].irq_type == IrqType.NONE or
                self.lines[line_no].irq_token is not None):
            self.events.append(Outgoing(bytes([IRQ_STATUS_INVALID]), 1, token))
            return
        line = self.lines[line_no]
        line.irq_token = token
        if line.latched:
            line.latched = False
            self._complete(line_no, IRQ_STATUS_VALID)
        else:
            self._level_fire(line_no)

    def _complete(self, line_no, status):
        line = self.lines[line_no]
        token, line.irq_token = line.irq_token, None
        if (status == IRQ_STATUS_VALID and self.faults and
                self._take_fault(Fault.CORRUPT_IRQ_STATUS)):
            self.events.append(Outgoing(bytes([CORRUPT_IRQ_STATUS]), 1,
                                        token))
            return
        self.events.append(Outgoing(bytes([status]), 1, token))
        if status == IRQ_STATUS_VALID:
            self.tell("interrupt", line_no, line.value)

    def _level_fire(self, line_no):
        line = self.lines[line_no]
        if line.irq_token is None:
            return
        if (line.irq_type == IrqType.LEVEL_HIGH and line.value == 1 or
                line.irq_type == IrqType.LEVEL_LOW and line.value == 0):
            self._complete(line_no, IRQ_STATUS_VALID)

    def _loop(self, line_no):
        """An output drives the input wired to it, if that one is an input."""
        into = self.loopback.get(line_no)
        if into is not None and self.lines[into].direction != Direction.OUT:
            self.set_input(into, self.lines[line_no].value)

    def set_input(self, line_no, level):
        """Drive an input line; completes its irq buffer when triggered."""
        if level not in (0, 1):
            raise ValueError("level must be 0 or 1")
        line = self.lines[line_no]
        if line.direction == Direction.OUT:
            raise ValueError("line %d is an output" % line_no)
        old, line.value = line.value, level
        if old != level:
            self.tell("input", line_no, level)
        edge = (IrqType.EDGE_RISING if level > old else
                IrqType.EDGE_FALLING if level < old else 0)
        if line.irq_token is None:
            # Enabled but masked: an edge is latched, a level is not (it
            # is looked at when the buffer comes).
            if line.irq_type & edge and line.irq_type in (
                    IrqType.EDGE_RISING, IrqType.EDGE_FALLING,
                    IrqType.EDGE_BOTH):
                line.latched = True
            return
        if line.irq_type & edge:
            self._complete(line_no, IRQ_STATUS_VALID)
        else:
            self._level_fire(line_no)

    def forget_irq_buffers(self):
        """The driver went away: its held irq buffers are gone with it."""
        for line in self.lines:
            line.irq_token = None
            line.latched = False
        self.events = []

    def held_irq_lines(self) -> Dict[int, object]:
        """Lines whose irq buffer the device holds, with its token."""
        return {n: l.irq_token for n, l in enumerate(self.lines)
                if l.irq_token is not None}
