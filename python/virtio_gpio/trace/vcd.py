"""Record the lines' events as a Value Change Dump (VCD), with pyvcd.

The backend builds one :class:`VcdRecorder` for ``--trace FILE.vcd``, hands
it every event its device models report, stamped (see
:meth:`VcdRecorder.record`), and closes it at shutdown. pyvcd must be
installed (the ``trace`` extra): call
:func:`virtio_gpio.trace.extra.require` with ``("vcd",)`` first, for a
one-line message instead of an ImportError.

The file has one scope per device, named after it, and in it, line by line
in line order, five variables named after the line:

=====================  ======  ================================================
``NAME``               wire    the level: 0 or 1, x until the first drive or
                               input
``NAME_direction``     string  ``in``, ``out`` or ``none`` as the guest set it
                               (empty until then)
``NAME_changed_by``    string  who set the level last: ``guest`` (drove the
                               output) or ``host`` (changed the input)
``NAME_irq_type``      string  the interrupt type the guest armed (``none``,
                               ``rising``, ``falling``, ``both``, ``high``,
                               ``low``; empty until then)
``NAME_interrupt``     event   an interrupt went to the guest
=====================  ======  ================================================

``NAME`` is the line's name with every character other than an ASCII
letter, digit, ``_`` or ``-`` replaced by ``_`` (a VCD reference holds no
space, and viewers read ``[...]`` as a bit index), ``lineN`` for a line
without a name, and ``NAME_N`` (N the line number) where that name is
taken. Device names are cleaned the same way. Times count microseconds
from the first event; its wall-clock time is the header's ``$date`` and,
as seconds since the epoch, in its ``$comment``.
"""

import datetime
import importlib.metadata
import logging
import math
import re
import threading
import time

from vcd.writer import VCDWriter

from ..devices.events import DIRECTIONS, IRQ_TYPES

log = logging.getLogger(__name__)

TIMESCALE = "1 us"
TICKS_PER_SECOND = 1_000_000

#: variable -> what its name adds to the line's (the level has the name)
SUFFIXES = {
    "direction": "_direction",
    "changed_by": "_changed_by",
    "irq_type": "_irq_type",
    "interrupt": "_interrupt",
}
#: who set a level last: values of ``NAME_changed_by``
GUEST, HOST = "guest", "host"

#: the epoch seconds of time 0 in the header comment, for readers
EPOCH_COMMENT = "time 0 is the first event, at %r seconds since the epoch"

#: seconds between flushes: a backend that is killed leaves a file
#: readable up to about then, without a write for every event
FLUSH_INTERVAL = 1.0

#: distinct problems warned about; more are counted, not logged, so that
#: a guest hammering a line the trace lacks cannot flood the log
MAX_WARNINGS = 32

_NOT_IN_A_NAME = re.compile(r"[^A-Za-z0-9_-]")


def clean_name(name):
    """``name`` as a VCD reference: ASCII letters, digits, ``_`` and ``-``."""
    return _NOT_IN_A_NAME.sub("_", name)


def line_names(names):
    """The level variables' names for a device's line ``names`` (in line
    order): cleaned, ``lineN`` where empty, and made unique together with
    the variables each line adds."""
    taken = set()
    result = []
    for number, name in enumerate(names):
        base = clean_name(str(name)) if name else "line%d" % number
        candidates = [base, "%s_%d" % (base, number), "line%d" % number]
        # The last resort: the line number alone is unique among lines,
        # and no base name that the loop tries is a bare number.
        candidates.append("%d" % number)
        for candidate in candidates:
            wanted = [candidate] + [candidate + s for s in SUFFIXES.values()]
            if not taken.intersection(wanted):
                break
        taken.update(wanted)
        result.append(candidate)
    return result


def scope_names(devices):
    """The scopes' names for ``devices`` (names), cleaned and unique."""
    taken = set()
    result = []
    for number, device in enumerate(devices):
        name = clean_name(str(device)) or "device"
        if name in taken:
            name = "%s_%d" % (name, number)
        while name in taken:
            name += "_"
        taken.add(name)
        result.append(name)
    return result


def _version():
    try:
        return "virtio-gpio %s" % importlib.metadata.version("virtio-gpio")
    except importlib.metadata.PackageNotFoundError:
        # Run from a checkout that was never installed.
        return "virtio-gpio"


def _is_level(value):
    return isinstance(value, int) and value in (0, 1)


class _Line:
    """One line's variables in the VCD."""

    def __init__(self, writer, scope, name):
        self.level = writer.register_var(scope, name, "wire", size=1)
        self.direction = writer.register_var(
            scope, name + SUFFIXES["direction"], "string")
        self.changed_by = writer.register_var(
            scope, name + SUFFIXES["changed_by"], "string")
        self.irq_type = writer.register_var(
            scope, name + SUFFIXES["irq_type"], "string")
        self.interrupt = writer.register_var(
            scope, name + SUFFIXES["interrupt"], "event")


class VcdRecorder:
    """Writes the events of ``devices`` to the VCD file ``path``.

    ``devices`` maps each device's name to its line names in line order
    (an empty name is ``lineN``); it fixes what the file holds: an event
    for any other device or line is left out, with a warning. The file is
    opened here, so that a bad path fails at once; the header is written
    with the first event (or at :meth:`close`), whose time it gives.
    Safe to call from several threads.
    """

    def __init__(self, path, devices):
        self.path = path
        self._layout = [(device, scope, names) for (device, names), scope
                        in zip(devices.items(), scope_names(list(devices)))]
        self._file = open(path, "w", encoding="utf-8")
        self._lock = threading.Lock()
        self._writer = None
        self._lines = {}
        self._start = None
        self._ticks = 0
        self._closed = False
        self._flushed = time.monotonic()
        self._warned = set()
        #: events left out, by reason, for the log at close
        self.ignored = {}

    def record(self, event):
        """Write one stamped event: a dict with ``time`` (``time.time()``),
        ``device``, ``line``, ``event`` (a kind of
        :data:`~virtio_gpio.devices.events.KINDS`) and ``value``; ``name``
        is not needed. Anything else is left out: an unknown kind quietly
        (new kinds may come), the rest with a warning. Never raises."""
        with self._lock:
            if self._closed:
                return
            try:
                self._record(event)
            except OSError as exc:
                # The disk is full or gone: the backend serves on.
                log.error("trace %s: %s; recording stops", self.path, exc)
                self._abandon()
            except Exception:
                # A fault of this recorder must not stop the devices it
                # watches: the event is lost, the log says why.
                self.ignored["by a fault of the recorder"] = (
                    self.ignored.get("by a fault of the recorder", 0) + 1)
                log.exception("trace %s: event %s not recorded", self.path,
                              _short(event))

    def close(self, at=None):
        """Finish the file: the time runs until ``at`` (``time.time()``,
        now by default). Never raises; a second call does nothing."""
        with self._lock:
            if self._closed:
                return
            end = time.time() if at is None else at
            try:
                if not _is_time(end):
                    end = self._start if self._start is not None else 0.0
                if self._writer is None:
                    self._begin(end)
                ticks = max(self._ticks, self._to_ticks(end))
                self._writer.close(ticks)
                self._file.close()
            except OSError as exc:
                log.error("trace %s: %s", self.path, exc)
                self._abandon()
            self._closed = True
            if self.ignored:
                log.warning("trace %s: events left out: %s", self.path,
                            ", ".join("%d %s" % (n, why) for why, n
                                      in sorted(self.ignored.items())))

    def _record(self, event):
        if not isinstance(event, dict):
            return self._ignore("not a dict", "an event of type %s, not "
                                "a dict", type(event).__name__)
        kind = event.get("event")
        changes_of = _CHANGES.get(kind) if isinstance(kind, str) else None
        if changes_of is None:
            # A kind this recorder does not know yet: nothing to draw.
            self.ignored["of unknown kinds"] = (
                self.ignored.get("of unknown kinds", 0) + 1)
            return
        when = event.get("time")
        if not _is_time(when):
            return self._ignore("without a time", "event %s: no usable time",
                                _short(event))
        device, number = event.get("device"), event.get("line")
        if self._writer is None:
            self._begin(when)
        line = (self._lines.get((device, number))
                if isinstance(device, str) and isinstance(number, int)
                and not isinstance(number, bool) else None)
        if line is None:
            return self._ignore(
                "for lines not traced", "event %s: device %r has no line %r "
                "in this trace", _short(event), device, number)
        value = event.get("value")
        changes = changes_of(value)
        if changes is None:
            return self._ignore("with bad values", "event %s: bad value %r "
                                "for %s", _short(event), value, kind)
        ticks = self._tick(when)
        for variable, new in changes:
            self._writer.change(getattr(line, variable), ticks, new)
        now = time.monotonic()
        if now - self._flushed >= FLUSH_INTERVAL:
            self._file.flush()
            self._flushed = now
        return None

    def _begin(self, when):
        """Write the header: time 0 is ``when``."""
        self._start = when
        self._writer = VCDWriter(
            self._file, timescale=TIMESCALE, date=_date(when),
            comment=EPOCH_COMMENT % when, version=_version())
        for device, scope, names in self._layout:
            for number, name in enumerate(line_names(names)):
                self._lines[(device, number)] = _Line(
                    self._writer, scope, name)
        # Now, so that the initial values are dumped at time 0 and an
        # interrupt in the first microsecond is written, not folded into
        # $dumpvars (which holds no events).
        self._writer.flush()

    def _to_ticks(self, when):
        return round((when - self._start) * TICKS_PER_SECOND)

    def _tick(self, when):
        """``when`` in ticks from the start; never before the last event:
        threads stamp their events a little out of order, and a VCD's
        time only goes forward."""
        self._ticks = max(self._ticks, self._to_ticks(when))
        return self._ticks

    def _ignore(self, why, message, *args):
        self.ignored[why] = self.ignored.get(why, 0) + 1
        key = (why,) + tuple(repr(a) for a in args[1:])
        if key in self._warned or len(self._warned) > MAX_WARNINGS:
            return
        self._warned.add(key)
        if len(self._warned) > MAX_WARNINGS:
            log.warning("trace %s: further events left out are only "
                        "counted", self.path)
            return
        log.warning("trace %s: " + message + "; left out", self.path, *args)

    def _abandon(self):
        self._closed = True
        try:
            self._file.close()
        except OSError:
            pass


def _is_time(when):
    # A time that would not fit in microseconds (inf, nan, 1e300) is as
    # unusable as none: the float would overflow converting to ticks.
    return (isinstance(when, (int, float)) and not isinstance(when, bool)
            and math.isfinite(when) and abs(when) < 1e15)


def _date(when):
    try:
        return datetime.datetime.fromtimestamp(
            when, datetime.timezone.utc).isoformat()
    except (ValueError, OverflowError, OSError):
        # Far outside the calendar: the comment still has the number.
        return "unknown"


def _short(event):
    text = repr(event)
    return text if len(text) <= 200 else text[:197] + "..."


def _level_by(who):
    def changes(value):
        if not _is_level(value):
            return None
        return [("level", int(value)), ("changed_by", who)]
    return changes


def _one_of(variable, allowed):
    def changes(value):
        if not (isinstance(value, str) and value in allowed):
            return None
        return [(variable, value)]
    return changes


def _interrupt(value):
    # The value is the level the guest sees with it, which the drive or
    # input before it already wrote: the interrupt itself is the event.
    return [("interrupt", True)]


#: event kind -> the changes to the line's variables that a value makes,
#: as (variable, value) pairs; None for a value the kind does not take
_CHANGES = {
    "drive": _level_by(GUEST),
    "input": _level_by(HOST),
    "direction": _one_of("direction", DIRECTIONS),
    "irq_type": _one_of("irq_type", IRQ_TYPES),
    "interrupt": _interrupt,
}
