"""What happens on a device's lines, as its model reports it.

A model tells its listeners of every change as it makes it: the guest
drove an output, set a direction, armed or disarmed an interrupt type; the
host changed an input; an interrupt went to the guest. The backend stamps
these with a time and a device name and hands them on (the control
socket's subscribers, a waveform trace); tests listen directly.
"""

from typing import NamedTuple

#: event kind -> what it means; ``value`` as given after the dash
KINDS = {
    "drive": "the guest drove an output line - the level, 0 or 1",
    "direction": "the guest set a line's direction - 'in', 'out' or 'none'",
    "irq_type": "the guest armed or disarmed a line's interrupt - 'none', "
                "'rising', 'falling', 'both', 'high' or 'low'",
    "input": "the host changed an input line - the level, 0 or 1",
    "interrupt": "an interrupt of the line went to the guest - the line's "
                 "level then",
}

DIRECTIONS = ("in", "out", "none")
IRQ_TYPES = ("none", "rising", "falling", "both", "high", "low")


class LineEvent(NamedTuple):
    """One change on one line (see :data:`KINDS`); a tuple, cheap to make
    on every request that changes a line."""

    kind: str
    line: int
    value: object

    def as_dict(self):
        return {"event": self.kind, "line": self.line, "value": self.value}
