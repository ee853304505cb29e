"""The bench file's schema: every table and key, with its type, default,
allowed values and a one-line meaning.

It is the one place these are written down. :mod:`.load` checks a file
with :func:`check` and then what no single key can say (references to
lines, one wire per input); the user guide's reference tables are
rendered from :data:`TABLES` by a Sphinx extension
(``Documentation/_ext/bench_schema.py``), so the documentation cannot
drift from what the loader accepts.
"""

import dataclasses
import json
import math
import re
from typing import Optional, Tuple

#: a key without a default must be given
REQUIRED = object()

#: the most lines a device declares: the config space's count is a le16
MAX_LINES = 0xFFFF
#: the longest device name: the 2020 protocol's config space holds 32 bytes
MAX_NAME_BYTES = 32
#: the shortest square-wave period: the serving loop's timers cannot keep
#: a faster pace, and a faster one would only flood the guest
MIN_PERIOD = 0.001


class SchemaError(ValueError):
    """A value the schema refuses: the message says what is allowed.

    ``where`` is the table it sits in, as a path (``("device", 0, "pulse",
    1)``: the second ``[[device.pulse]]`` of the first ``[[device]]``;
    ``()`` the file's top level) and ``key`` its key, None for the table as
    a whole; :mod:`.load` turns them into a line of the file.
    """

    def __init__(self, message, where=(), key=None):
        super().__init__(message)
        self.where = tuple(where)
        self.key = key


def show(value):
    """``value`` as the file would spell it, shortened, for a message."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def guest_name_problem(name):
    """Why the guest driver would leave a line or device name out, or
    None when it takes it. Its rule (``vgpio_name_ok()`` in
    kernel/vgpio_core.c): printable ASCII, but neither ``%`` (6.1's
    sysfs export uses a line name as a printf format) nor ``/`` (no
    sysfs name holds one); control bytes would forge log lines."""
    for char in name:
        if char in "%/":
            return "holds %r" % char
        if not " " <= char <= "~":
            return "holds %s, not printable ASCII" % (
                "a NUL" if char == "\0" else repr(char))
    return None


def _is_number(value):
    # TOML's true is a bool, which Python counts as an int; never a number here
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Type:
    """What a key's value may be. ``allowed`` says it in words, for the
    reference table and for every message that refuses a value."""

    allowed = ""

    def check(self, value):
        """``value`` as the loader keeps it; raises :class:`SchemaError`."""
        raise NotImplementedError

    def refuse(self, value, why=None):
        raise SchemaError("expected %s, got %s%s" % (
            self.allowed, show(value), "" if why is None else " (%s)" % why))


class DeviceName(Type):
    allowed = ("1 to %d ASCII letters, digits, '_' or '-'" % MAX_NAME_BYTES)
    _pattern = re.compile(r"[A-Za-z0-9_-]{1,%d}\Z" % MAX_NAME_BYTES)

    def check(self, value):
        if not isinstance(value, str) or not self._pattern.match(value):
            self.refuse(value)
        return value


class Choice(Type):
    def __init__(self, *values):
        self.values = values
        self.allowed = " or ".join(show(v) for v in values)

    def check(self, value):
        if value not in self.values:
            self.refuse(value)
        return value


class Flag(Type):
    allowed = "true or false"

    def check(self, value):
        if not isinstance(value, bool):
            self.refuse(value)
        return value


class Level(Type):
    allowed = "0 or 1"

    def check(self, value):
        if isinstance(value, bool) or value not in (0, 1) or \
                not isinstance(value, int):
            self.refuse(value)
        return value


class Integer(Type):
    def __init__(self, low, high=None):
        self.low, self.high = low, high
        self.allowed = ("a whole number %d..%d" % (low, high)
                        if high is not None else
                        "a whole number >= %d" % low)

    def check(self, value):
        if not isinstance(value, int) or isinstance(value, bool) or \
                value < self.low or \
                (self.high is not None and value > self.high):
            self.refuse(value)
        return value


class Seconds(Type):
    """A time or a duration in seconds, integer or not, never inf or nan."""

    def __init__(self, minimum=0.0, inclusive=True):
        self.minimum, self.inclusive = minimum, inclusive
        self.allowed = "seconds %s %g" % (">=" if inclusive else ">", minimum)

    def check(self, value):
        if not _is_number(value) or not math.isfinite(value) or \
                value < self.minimum or \
                (not self.inclusive and value == self.minimum):
            self.refuse(value)
        return float(value)


class Fraction(Type):
    allowed = "a number between 0 and 1, both excluded"

    def check(self, value):
        if not _is_number(value) or not 0 < value < 1:
            self.refuse(value)
        return float(value)


class Path(Type):
    allowed = "a path; a relative one is relative to the file's directory"

    def check(self, value):
        if not isinstance(value, str) or not value or "\0" in value:
            self.refuse(value)
        return value


class Lines(Type):
    """A count of unnamed lines, or the names in line order."""

    allowed = ("a count 1..%d, or a list of names in line order (\"\" for "
               "an unnamed line; printable ASCII without '%%' or '/'; no "
               "name twice)" % MAX_LINES)

    def check(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            if not 1 <= value <= MAX_LINES:
                self.refuse(value)
            return [""] * value
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_LINES:
            self.refuse(value)
        seen = set()
        for number, name in enumerate(value):
            if not isinstance(name, str):
                raise SchemaError("line %d's name is %s, not a string"
                                  % (number, show(name)))
            problem = guest_name_problem(name)
            if problem:
                raise SchemaError("line %d's name %s %s: the guest driver "
                                  "would leave it out (a name is printable "
                                  "ASCII without '%%' or '/')"
                                  % (number, show(name), problem))
            if name and name in seen:
                raise SchemaError("two lines named %s" % show(name))
            seen.add(name)
        return list(value)


class LineRef(Type):
    """A line of the table's device, by name or number (resolved by the
    loader, which knows the device's lines)."""

    allowed = "a line's name, or its number"

    def check(self, value):
        if isinstance(value, bool) or not isinstance(value, (str, int)) or \
                value == "":
            self.refuse(value)
        return value


class DeviceLineRef(Type):
    """``DEVICE.LINE``: a line of any device of the file."""

    allowed = "\"DEVICE.LINE\": a device's name, a dot, a line's name or number"

    def check(self, value):
        if not isinstance(value, str):
            self.refuse(value)
        device, dot, line = value.partition(".")
        if not dot or not device or not line:
            self.refuse(value)
        return device, line


class LevelTable(Type):
    allowed = "a table { LINE = LEVEL, ... }: a line's name or number, 0 or 1"

    def check(self, value):
        if not isinstance(value, dict):
            self.refuse(value)
        for line, level in value.items():
            if isinstance(level, bool) or level not in (0, 1) or \
                    not isinstance(level, int):
                self.refuse(value, "%s = %s" % (line, show(level)))
        return dict(value)


class Steps(Type):
    allowed = ("a list of [SECONDS, LEVEL] pairs: seconds >= 0, level 0 or 1;"
               " at least one")

    def check(self, value):
        if not isinstance(value, list) or not value:
            self.refuse(value)
        steps = []
        for step in value:
            if not (isinstance(step, list) and len(step) == 2 and
                    _is_number(step[0]) and math.isfinite(step[0]) and
                    step[0] >= 0 and not isinstance(step[1], bool) and
                    isinstance(step[1], int) and step[1] in (0, 1)):
                self.refuse(value, "step %s" % show(step))
            steps.append((float(step[0]), step[1]))
        # Given in any order, they happen in time order (in file order
        # where two share a time).
        return sorted(steps, key=lambda step: step[0])


@dataclasses.dataclass(frozen=True)
class Key:
    """One key of a table."""

    name: str
    type: Type
    doc: str
    default: object = REQUIRED

    @property
    def required(self):
        return self.default is REQUIRED


@dataclasses.dataclass(frozen=True)
class Table:
    """One kind of table. ``path`` is where it sits (``("device",
    "pulse")`` is ``[[device.pulse]]``; ``()`` the file's top level);
    every kind but the top level is an array of tables."""

    path: Tuple[str, ...]
    doc: str
    keys: Tuple[Key, ...]

    @property
    def header(self):
        return "[[%s]]" % ".".join(self.path) if self.path else "top level"

    @property
    def children(self):
        return tuple(t for t in TABLES if len(t.path) == len(self.path) + 1
                     and t.path[:-1] == self.path)

    def key(self, name) -> Optional[Key]:
        return next((k for k in self.keys if k.name == name), None)


_LINE = Key("line", LineRef(), "the input line it drives")

#: every table of a bench file, the root first
TABLES = (
    Table((), "The file's top level: the devices, the wires between them and "
          "one control socket for all of them.", (
              Key("control", Path(), "a control socket taking vgpio-ctl's "
                  "commands for every device (the command line's --control "
                  "takes its place)", None),
          )),
    Table(("device",), "One simulated GPIO device, served on its own "
          "vhost-user socket. At least one.", (
              Key("name", DeviceName(), "the device's name: vgpio-ctl's "
                  "--device, the prefix of wires' line references and the "
                  "trace's scope; with protocol \"id30\" also the device "
                  "name in its config space"),
              Key("socket", Path(), "the vhost-user socket it listens on"),
              Key("protocol", Choice("standard", "id30"), "\"standard\": "
                  "virtio 1.2 GPIO (device ID 41, e.g. QEMU's "
                  "vhost-user-gpio-pci); \"id30\": the 2020 proposal "
                  "(device ID 30)", "standard"),
              Key("lines", Lines(), "how many lines, or their names", 8),
              Key("initial", LevelTable(), "input levels from the start, "
                  "before anything drives them; a line not listed starts "
                  "at 0", {}),
              Key("interrupts", Flag(), "offer interrupts "
                  "(VIRTIO_GPIO_F_IRQ); only with protocol \"standard\" "
                  "(the 2020 protocol reports every input change)", True),
          )),
    Table(("device", "pulse"), "One pulse on an input line: it goes to "
          "the pulse's level at its time and back to the other level when "
          "the pulse's width is over.", (
              _LINE,
              Key("at", Seconds(), "when the pulse begins, in seconds from "
                  "the device's front end connecting"),
              Key("width", Seconds(0, inclusive=False), "how long it lasts, "
                  "in seconds"),
              Key("level", Level(), "the level during the pulse", 1),
          )),
    Table(("device", "square"), "A square wave on an input line: each "
          "period begins with the line going to 1 and ends with it at 0.", (
              _LINE,
              Key("period", Seconds(MIN_PERIOD), "one period, in seconds"),
              Key("duty", Fraction(), "the part of each period the line "
                  "spends at 1", 0.5),
              Key("start", Seconds(), "when the first period begins, in "
                  "seconds from the device's front end connecting", 0.0),
              Key("count", Integer(1), "how many periods; give either this "
                  "or forever", None),
              Key("forever", Flag(), "true: periods without end, for as "
                  "long as the front end stays", False),
          )),
    Table(("device", "sequence"), "Scripted input changes on one line.", (
              _LINE,
              Key("steps", Steps(), "the line goes to each LEVEL at its "
                  "time, in seconds from the device's front end connecting"),
          )),
    Table(("wire",), "A wire: whatever the guest drives on one line becomes "
          "the input level of another, on the same device or another one. "
          "An input has one wire at most.", (
              Key("from", DeviceLineRef(), "the line whose output level "
                  "the wire carries"),
              Key("to", DeviceLineRef(), "the input line it drives; while "
                  "the guest has it as an output, the wire waits, and drives "
                  "it when it becomes an input again"),
          )),
)

#: the table kinds by path
BY_PATH = {table.path: table for table in TABLES}


def check(raw):
    """The file's parsed TOML (a dict), checked key by key: every table
    as a dict of its keys' values, defaults filled in, sub-tables as
    lists. Raises :class:`SchemaError`."""
    return _check(BY_PATH[()], raw, ())


def _check(table, raw, where):
    if not isinstance(raw, dict):
        raise SchemaError("expected a table, got %s" % show(raw), where)
    children = {child.path[-1]: child for child in table.children}
    for name in raw:
        if table.key(name) is None and name not in children:
            known = [k.name for k in table.keys] + list(children)
            raise SchemaError("unknown key %s; the keys here are %s"
                              % (show(name), ", ".join(known)), where, name)
    out = {}
    for key in table.keys:
        if key.name not in raw:
            if key.required:
                raise SchemaError("key %s is missing: %s"
                                  % (show(key.name), key.doc), where)
            # A default is spelled as the file would spell it (lines = 8)
            out[key.name] = (None if key.default is None
                             else key.type.check(key.default))
            continue
        try:
            out[key.name] = key.type.check(raw[key.name])
        except SchemaError as exc:
            raise SchemaError(str(exc), where, key.name) from None
    for name, child in children.items():
        items = raw.get(name, [])
        if not isinstance(items, list) or \
                not all(isinstance(item, dict) for item in items):
            raise SchemaError("expected %s tables, got %s"
                              % (child.header, show(items)), where, name)
        out[name] = [_check(child, item, where + (name, index))
                     for index, item in enumerate(items)]
    return out
