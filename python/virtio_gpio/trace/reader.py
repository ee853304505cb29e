"""Read a waveform trace back, with pyvcd's VCD tokenizer.

Every 1-bit wire (or reg) is a line: its scope is the device, and the
variables that :class:`~virtio_gpio.trace.vcd.VcdRecorder` adds to its name
(:data:`~virtio_gpio.trace.vcd.SUFFIXES`) are its direction, who set its
level, its interrupt type and its interrupts. A VCD from elsewhere reads as
lines with levels only. Times stay in the file's ticks (integers, exact);
:attr:`Trace.seconds_per_tick` converts.
"""

import dataclasses
from typing import List, Optional, Tuple

from vcd.reader import TokenKind, VCDParseError, tokenize

from .vcd import SUFFIXES

#: timescale unit -> seconds
_UNIT_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12,
                 "fs": 1e-15, "as": 1e-18, "zs": 1e-21}

#: a scalar's value -> the level it means; x, z and the rest are unknown
_LEVELS = {"0": 0, "1": 1}


class TraceError(Exception):
    """The file cannot be read as a trace: missing, or not a VCD."""


@dataclasses.dataclass(eq=False)
class Line:
    """One line's history: lists of (time, value), in file order, with
    the initial value first (a level of None, a string of "" for
    unknown). Two lines are equal only if they are the same."""

    device: str
    name: str
    levels: List[Tuple[int, Optional[int]]] = dataclasses.field(
        default_factory=list)
    directions: List[Tuple[int, str]] = dataclasses.field(
        default_factory=list)
    changed_by: List[Tuple[int, str]] = dataclasses.field(
        default_factory=list)
    irq_types: List[Tuple[int, str]] = dataclasses.field(
        default_factory=list)
    #: the times interrupts went to the guest
    interrupts: List[int] = dataclasses.field(default_factory=list)

    @property
    def full_name(self):
        """``device.name``: unique in a trace."""
        return "%s.%s" % (self.device, self.name) if self.device else self.name

    @property
    def active(self):
        """Whether anything happened on the line after the initial values."""
        return bool(self.interrupts) or any(
            len(series) > 1 for series in (self.levels, self.directions,
                                           self.changed_by, self.irq_types))


@dataclasses.dataclass
class Trace:
    """A trace file's lines, in file order."""

    #: the lines, devices in the file's order, each device's in line order
    lines: List[Line]
    #: the last time in the file: when the recording ended
    end: int
    #: the length of a time step (the file's ``$timescale``)
    seconds_per_tick: float
    #: the header's ``$date``: the wall-clock time of time 0
    date: str = ""
    #: why reading stopped early (a file cut off by a killed backend),
    #: or None
    truncated: Optional[str] = None

    def select(self, names):
        """The lines called ``names`` (``device.name``, or ``name`` for that
        line of every device), in the order given.

        :raises KeyError: for a name that is no line's
        """
        chosen = []
        for wanted in names:
            found = [line for line in self.lines
                     if wanted in (line.full_name, line.name)]
            if not found:
                raise KeyError(wanted)
            chosen.extend(line for line in found if line not in chosen)
        return chosen


#: variable's suffix -> the Line attribute its changes go to
_SERIES = {SUFFIXES["direction"]: "directions",
           SUFFIXES["changed_by"]: "changed_by",
           SUFFIXES["irq_type"]: "irq_types",
           SUFFIXES["interrupt"]: "interrupts"}


def read(path):
    """The trace in the VCD file ``path``.

    :raises TraceError: when the file cannot be opened, or is cut off or
        broken before its definitions end (a broken part after them is
        :attr:`Trace.truncated`)
    """
    try:
        with open(path, "rb") as stream:
            return _read(stream)
    except OSError as exc:
        raise TraceError("cannot read %s: %s" % (
            path, exc.strerror or exc)) from None


def _read(stream):
    scopes = []
    lines = []
    #: identifier code -> [(line, attribute)]: one code may stand for
    #: several references (an alias)
    codes = {}
    #: (scope, reference) -> (line, attribute), for the variables a line's
    #: level announces
    expected = {}
    seconds_per_tick = 1.0
    date = ""
    now = end = 0
    defined = False
    tokens = tokenize(stream)
    while True:
        try:
            token = next(tokens)
        except StopIteration:
            break
        except (VCDParseError, ValueError, UnicodeDecodeError) as exc:
            if not defined:
                raise TraceError("not a VCD file: %s" % exc) from None
            return Trace(lines, end, seconds_per_tick, date,
                         truncated=str(exc))
        kind = token.kind
        if kind is TokenKind.CHANGE_TIME:
            now = token.data
            # A file cut off in a time ("#3" of "#3000") may step back.
            end = max(end, now)
        elif kind in (TokenKind.CHANGE_SCALAR, TokenKind.CHANGE_STRING,
                      TokenKind.CHANGE_VECTOR, TokenKind.CHANGE_REAL):
            for line, attribute in codes.get(token.data.id_code, ()):
                _change(line, attribute, now, token.data.value)
        elif kind is TokenKind.SCOPE:
            scopes.append(token.data.ident)
        elif kind is TokenKind.UPSCOPE:
            if scopes:
                scopes.pop()
        elif kind is TokenKind.VAR:
            var = token.data
            scope = ".".join(scopes)
            target = expected.pop((scope, var.reference), None)
            if target is None and var.size == 1 and var.bit_index is None \
                    and var.type_.value in ("wire", "reg"):
                line = Line(scope, var.reference)
                lines.append(line)
                target = (line, "levels")
                for suffix, attribute in _SERIES.items():
                    expected[(scope, var.reference + suffix)] = (line,
                                                                 attribute)
            if target is not None:
                codes.setdefault(var.id_code, []).append(target)
        elif kind is TokenKind.TIMESCALE:
            timescale = token.data
            # An int from pyvcd 0.5, a plain Enum of one before.
            magnitude = getattr(timescale.magnitude, "value",
                                timescale.magnitude)
            seconds_per_tick = (magnitude
                                * _UNIT_SECONDS[timescale.unit.value])
        elif kind is TokenKind.DATE:
            date = token.data
        elif kind is TokenKind.ENDDEFINITIONS:
            defined = True
    if not defined:
        raise TraceError("not a VCD file: no $enddefinitions")
    return Trace(lines, end, seconds_per_tick, date)


def _change(line, attribute, now, value):
    if attribute == "levels":
        line.levels.append((now, _LEVELS.get(value)))
    elif attribute == "interrupts":
        line.interrupts.append(now)
    else:
        getattr(line, attribute).append((now, str(value)))
