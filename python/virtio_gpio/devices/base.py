"""What every device model shares: the messages they send, the faults
they inject, named lines.

A model knows nothing about rings or sockets. Both protocols' models have
one shape: :meth:`DeviceModel.process` answers a batch of request chains
with the replies that go out now; :meth:`DeviceModel.set_input` and
everything else that makes the device speak unasked queue their messages
for :meth:`DeviceModel.take_events`. The protocol's loop
(:mod:`virtio_gpio.devices.loops`) moves them through rings. Fault
injection lives here, so every transport can misbehave in the same ways.
"""

import dataclasses
import enum
from typing import Callable, List, Sequence

from .events import LineEvent


@dataclasses.dataclass
class Outgoing:
    """One message for the device->driver queue.

    ``used_len`` is the length the device will claim in the used ring; it
    normally equals ``len(payload)``, but a faulty device may lie.
    """

    payload: bytes
    used_len: int
    #: the chain it answers, for protocols that answer in the request's chain
    token: object = None


#: the largest length a used-ring element can claim (a le32)
USED_LEN_MAX = 0xFFFFFFFF

#: the most faults that may wait at once: each costs the serving loop
#: time and memory on the way
MAX_QUEUED_FAULTS = 1_000_000


class Fault(enum.Enum):
    """One-shot misbehaviours, each applied to the next reply (or batch)."""

    DROP = "drop"                    #: the reply is never sent
    DELAY = "delay"                  #: sent late: just before the next reply
    DUPLICATE = "duplicate"          #: sent twice
    REORDER = "reorder"              #: the batch's replies go out reversed
    CORRUPT_TYPE = "corrupt_type"    #: type replaced by an unknown one
    CORRUPT_LINE = "corrupt_line"    #: line replaced by one beyond ngpio
    CORRUPT_VALUE = "corrupt_value"  #: value replaced by an impossible one
    SHORT_LEN = "short_len"          #: used length claims 4 bytes
    LONG_LEN = "long_len"            #: used length claims 4096 bytes
    ZERO_LEN = "zero_len"            #: used length claims nothing written
    HUGE_LEN = "huge_len"            #: used length claims 4 GiB - 1 bytes
    #: an eventq buffer returned that the driver never made available (a
    #: descriptor that is no chain's head): sent at once, no reply needed
    FORGED_EVENT = "forged_event"
    #: the next eventq buffer the device completes for an edge or a level
    #: carries status 0x7f, neither VALID nor INVALID (standard protocol)
    CORRUPT_IRQ_STATUS = "corrupt_irq_status"


#: the token of a forged eventq return; each transport forges it its way
FORGED_TOKEN = object()


class ConfigFault(enum.Enum):
    """Ways to make the config space invalid."""

    VERSION_2 = "version2"
    ZERO_LINES = "zero_lines"
    TOO_MANY_LINES = "too_many_lines"
    NAMES_BEYOND_SPACE = "names_beyond_space"
    UNTERMINATED_NAMES = "unterminated_names"


class DeviceModel:
    """What every device model shares: named lines and one-shot faults.

    :param lines: number of lines, or a sequence of line names
    """

    #: the per-line state class of the protocol (each model sets its own)
    line_class: type

    def __init__(self, lines):
        names: Sequence[str] = (["" for _ in range(lines)]
                                if isinstance(lines, int) else list(lines))
        if not 1 <= len(names) <= 0xFFFF:
            raise ValueError("a device has 1..65535 lines")
        self.lines = [self.line_class(name=n) for n in names]
        #: offered without VIRTIO_F_VERSION_1, as a legacy (pre-1.0)
        #: device: what a standard-protocol driver must refuse
        self.legacy = False
        self.faults: List[Fault] = []
        self.delayed: List[Outgoing] = []
        #: what the device says unasked, oldest first, for take_events()
        self.events: List[Outgoing] = []
        self.requests_seen = 0
        #: called with each LineEvent as the model makes the change
        self.listeners: List[Callable[[LineEvent], None]] = []

    def reset(self):
        """A device reset: every line back to its power-on state, keeping
        its name and the level the outside world holds it at; no buffer
        held, no reply owed, no fault pending."""
        self.lines = [self.line_class(name=line.name, value=line.value)
                      for line in self.lines]
        self.faults = []
        self.delayed = []
        self.events = []

    def tell(self, kind, line, value):
        """Report a change on ``line`` to the listeners."""
        if self.listeners:
            event = LineEvent(kind, line, value)
            for listener in self.listeners:
                listener(event)

    def names_block(self):
        """The line-names block: NUL-terminated UTF-8 names in line order."""
        return b"".join(line.name.encode() + b"\0" for line in self.lines)

    def inject(self, fault: Fault, count=1):
        """Apply ``fault`` to the next ``count`` replies."""
        self._check_fault_count(count)
        self.faults.extend([Fault(fault)] * count)

    def _check_fault_count(self, count):
        queued = len(self.faults) + len(self.events)
        if not 1 <= count <= MAX_QUEUED_FAULTS - queued:
            raise ValueError("%d more faults: at most %d may wait, %d do"
                             % (count, MAX_QUEUED_FAULTS, queued))

    def _take_fault(self, wanted):
        if wanted in self.faults:
            self.faults.remove(wanted)
            return True
        return False

    def release_delayed(self):
        """Replies held back by :attr:`Fault.DELAY`, now due."""
        out, self.delayed = self.delayed, []
        return out

    def discard_delayed(self):
        """The driver's ring is gone: replies held back for it with it."""
        self.delayed = []

    def take_events(self) -> List[Outgoing]:
        """What the device has to say unasked (input changes, finished
        interrupt buffers), oldest first."""
        out, self.events = self.events, []
        return out

    def process(self, chains) -> List[Outgoing]:
        """Answer a batch of request chains
        (:class:`~virtio_gpio.devices.ring.Chain`): the replies that go out
        now, each with the token of the chain it goes into, if the
        protocol answers in the request's own chain."""
        raise NotImplementedError

    def set_input(self, line, level):
        """The outside world drives input ``line`` to ``level``; what the
        driver must hear of it is queued for :meth:`take_events`."""
        raise NotImplementedError


