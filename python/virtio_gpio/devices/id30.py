"""A model of the device side of the 2020 proposal (device ID 30).

It turns request bytes into replies and input changes into HOST_LEVEL
events; :mod:`virtio_gpio.devices.base` has what it shares with the
standard protocol's model.
"""

import collections
import dataclasses
import errno
import logging
from typing import List, Optional

from ..wire import id30 as wire
from ..wire.id30 import Direction, MsgType
from .base import USED_LEN_MAX, ConfigFault, DeviceModel, Fault, Outgoing

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Line:
    """State of one line as the device sees it."""

    name: str = ""
    direction: Direction = Direction.IN
    value: int = 0
    requested: bool = False


class Id30Device(DeviceModel):
    """Device model for the 2020 protocol (device ID 30, version 1).

    :param lines: number of lines, or a sequence of line names
    :param name: device name (at most 32 bytes once encoded)
    :param config_fault: make the config space invalid in this way
    """

    device_id = wire.DEVICE_ID
    features = 0
    line_class = Line

    def __init__(self, lines=8, name="virtio-gpio-sim",
                 config_fault: Optional[ConfigFault] = None):
        super().__init__(lines)
        if len(name.encode()) > wire.CFG_NAME_LEN:
            raise ValueError("device name longer than %d bytes"
                             % wire.CFG_NAME_LEN)
        self.name = name
        self.config_fault = config_fault
        #: the most recent raw requests, for tests that check the encoding
        self.received = collections.deque(maxlen=1024)
        self.malformed_requests = 0

    def inject(self, fault: Fault, count=1):
        if Fault(fault) is Fault.FORGED_EVENT:
            # Receive buffers are shared by every line: any of them may
            # carry a HOST_LEVEL, watched line or not (set_input does so).
            raise ValueError("%s needs per-line eventq buffers (standard "
                             "protocol)" % fault)
        if Fault(fault) is Fault.CORRUPT_IRQ_STATUS:
            raise ValueError("%s needs the standard protocol's eventq "
                             "status" % fault)
        super().inject(fault, count)

    # -- config space ----------------------------------------------------

    def config_space(self):
        """Config-space bytes as the driver reads them."""
        block = self.names_block()
        kwargs = dict(ngpio=len(self.lines), names_block=block,
                      name=self.name.encode())
        fault = self.config_fault
        if fault is ConfigFault.VERSION_2:
            kwargs["version"] = 2
        elif fault is ConfigFault.ZERO_LINES:
            kwargs["ngpio"] = 0
        elif fault is ConfigFault.TOO_MANY_LINES:
            kwargs["ngpio"] = 0xFFFF
        elif fault is ConfigFault.NAMES_BEYOND_SPACE:
            kwargs["names_size"] = wire.CFG_MAX_SIZE
        elif fault is ConfigFault.UNTERMINATED_NAMES:
            kwargs["names_block"] = block.rstrip(b"\0") or b"x"
        return wire.build_config(**kwargs)

    # -- requests --------------------------------------------------------

    def _answer(self, msg_type, line_no, value):
        """Apply one request to the model; returns the reply's value."""
        if not 0 <= line_no < len(self.lines):
            return -errno.EINVAL
        line = self.lines[line_no]
        if msg_type == MsgType.REQUEST:
            line.requested = True
            return 0
        if msg_type == MsgType.DIRECTION_INPUT:
            line.direction = Direction.IN
            self.tell("direction", line_no, "in")
            return 0
        if msg_type == MsgType.DIRECTION_OUTPUT:
            if value not in (0, 1):
                return -errno.EINVAL
            line.direction, line.value = Direction.OUT, value
            self.tell("direction", line_no, "out")
            self.tell("drive", line_no, value)
            return 0
        if msg_type == MsgType.GET_DIRECTION:
            return int(line.direction)
        if msg_type == MsgType.GET_VALUE:
            return line.value
        if msg_type == MsgType.SET_VALUE:
            if line.direction != Direction.OUT:
                return -errno.EPERM
            if value not in (0, 1):
                return -errno.EINVAL
            line.value = value
            self.tell("drive", line_no, value)
            return value
        return -errno.EOPNOTSUPP

    def _corrupt(self, msg_type, line_no, value):
        if self._take_fault(Fault.CORRUPT_TYPE):
            msg_type = wire.MSG_REPLY | 0x7F
        if self._take_fault(Fault.CORRUPT_LINE):
            line_no = len(self.lines) + 7
        if self._take_fault(Fault.CORRUPT_VALUE):
            value = 0x1234
        return msg_type, line_no, value

    def _used_len(self):
        if self._take_fault(Fault.SHORT_LEN):
            return wire.MSG_SIZE // 2
        if self._take_fault(Fault.LONG_LEN):
            return 4096
        if self._take_fault(Fault.ZERO_LEN):
            return 0
        if self._take_fault(Fault.HUGE_LEN):
            return USED_LEN_MAX
        return wire.MSG_SIZE

    def handle(self, request: bytes) -> List[Outgoing]:
        """Answer one request; returns what goes out now (maybe nothing)."""
        self.requests_seen += 1
        self.received.append(bytes(request))
        if len(request) != wire.MSG_SIZE:
            self.malformed_requests += 1
            log.warning("request of %d bytes ignored", len(request))
            return []
        msg_type, line_no, value = wire.decode(request)
        result = self._answer(msg_type, line_no, value)
        log.debug("request type=%#x line=%d value=%d -> %d",
                  msg_type, line_no, value, result)
        reply = wire.encode(*self._corrupt(
            wire.reply_type(msg_type), line_no, result))
        out = Outgoing(reply, self._used_len())
        # A late reply still keeps the per-line order the spec demands:
        # it goes out right before the next one (or on release_delayed()).
        late = self.release_delayed()
        if self._take_fault(Fault.DROP):
            return late
        if self._take_fault(Fault.DELAY):
            self.delayed.append(out)
            return late
        if self._take_fault(Fault.DUPLICATE):
            return late + [out, Outgoing(out.payload, out.used_len)]
        return late + [out]

    def process(self, chains) -> List[Outgoing]:
        """Answer a batch of request chains, in order unless told to
        reorder; the replies go into any receive buffer, so they carry no
        token."""
        out: List[Outgoing] = []
        for chain in chains:
            out.extend(self.handle(chain.readable))
        if len(out) > 1 and self._take_fault(Fault.REORDER):
            out.reverse()
        return out

    # -- the outside world -----------------------------------------------

    def set_input(self, line_no, level):
        """Drive an input line; a change is queued as a HOST_LEVEL event."""
        if level not in (0, 1):
            raise ValueError("level must be 0 or 1")
        line = self.lines[line_no]
        if line.direction != Direction.IN:
            raise ValueError("line %d is an output" % line_no)
        if line.value == level:
            return
        line.value = level
        self.tell("input", line_no, level)
        payload = wire.encode(MsgType.HOST_LEVEL, line_no, level)
        self.events.append(Outgoing(payload, wire.MSG_SIZE))
        # Every level change goes to the driver as an event.
        self.tell("interrupt", line_no, level)

    def raw_event(self, msg_type, line_no, value, used_len=None):
        """An arbitrary message, for tests that feed the driver garbage."""
        payload = wire.encode(msg_type, line_no, value)
        return [Outgoing(payload, wire.MSG_SIZE if used_len is None
                         else used_len)]


class RawConfigDevice(Id30Device):
    """A one-line device whose config space is exactly ``config`` bytes.

    For probing the driver with arbitrary, possibly hostile, config spaces.
    """

    def __init__(self, config: bytes):
        super().__init__(1)
        self.raw = bytes(config)

    def config_space(self):
        return self.raw
