"""Reading a bench file: TOML in, a checked :class:`Bench` out.

Every problem is one :class:`BenchFileError` whose message names the
file, the line and the key, and says what is allowed: what the TOML
parser refuses comes with its own line and column; what the schema or the
cross-checks here refuse is found in the file's text, the key within its
table (the parser keeps no positions).
"""

import dataclasses
import os
import re
import sys
from typing import Dict, List, Optional, Tuple, Union

from ..textfile import TextFileError, read_text
from . import schema
from .schema import SchemaError, show

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, before it joined the standard library
    import tomli as tomllib


class BenchFileError(ValueError):
    """A bench file that cannot be served, in one line:
    ``FILE:LINE: where: what is wrong``."""


@dataclasses.dataclass
class Pulse:
    """The line goes to ``level`` at ``at`` and back ``width`` later."""

    line: int
    at: float
    width: float
    level: int = 1


@dataclasses.dataclass
class Square:
    """Periods of ``period`` seconds from ``start``, each at 1 for the
    ``duty`` part of it, then at 0; ``count`` of them, None for no end."""

    line: int
    period: float
    duty: float = 0.5
    start: float = 0.0
    count: Optional[int] = None


@dataclasses.dataclass
class Sequence:
    """The line goes to each level at its time: ``[(seconds, level)]``,
    in time order."""

    line: int
    steps: List[Tuple[float, int]]


Generator = Union[Pulse, Square, Sequence]


@dataclasses.dataclass
class Device:
    """One device of the bench; ``socket`` is resolved against the
    file's directory, line references to line numbers."""

    name: str
    socket: str
    protocol: str = "standard"
    #: line names in line order; "" for an unnamed line
    lines: List[str] = dataclasses.field(default_factory=lambda: [""] * 8)
    #: line number -> input level from the start
    initial: Dict[int, int] = dataclasses.field(default_factory=dict)
    interrupts: bool = True
    #: input generators; their times count from the front end connecting
    generators: List[Generator] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Wire:
    """The output of ``source`` drives the input ``target``: each a
    (device name, line number)."""

    source: Tuple[str, int]
    target: Tuple[str, int]


@dataclasses.dataclass
class Bench:
    path: str
    devices: List[Device]
    wires: List[Wire] = dataclasses.field(default_factory=list)
    #: the control socket the file names, resolved; None if it names none
    control: Optional[str] = None


def load(path) -> Bench:
    """Read and check the bench file ``path``; raises
    :class:`BenchFileError`."""
    try:
        text = read_text(path)
    except TextFileError as exc:
        raise BenchFileError(str(exc)) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BenchFileError(_toml_message(path, exc)) from None
    except RecursionError:  # tomllib recurses per nesting level
        raise BenchFileError("%s: not a bench file: arrays or tables nested "
                             "too deep" % path) from None
    try:
        return _build(path, raw, schema.check(raw))
    except SchemaError as exc:
        raise BenchFileError(_message(path, text, raw, exc)) from None


def _toml_message(path, exc):
    # The parser says "Invalid value (at line 3, column 9)"; newer ones
    # also keep lineno and colno, older ones only the text.
    text = str(exc)
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", text)
    if match:
        return "%s:%s:%s: not valid TOML: %s" % (
            path, match.group(1), match.group(2), text[:match.start()])
    return "%s: not valid TOML: %s" % (path, text)


# -- from the checked tables to a Bench --------------------------------------


def _build(path, raw, checked):
    base = os.path.dirname(os.path.abspath(path))
    where_is = {}
    devices = []
    if not checked["device"]:
        raise SchemaError("no [[device]] table: a bench has one device or "
                          "more", (), None)
    sockets = {}
    for index, table in enumerate(checked["device"]):
        where = ("device", index)
        device = _device(base, table, raw["device"][index], where)
        if device.name in where_is:
            raise SchemaError("a second device named %s" % show(device.name),
                              where, "name")
        if device.socket in sockets:
            raise SchemaError("%s is the socket of device %s too"
                              % (show(table["socket"]),
                                 show(sockets[device.socket])), where,
                              "socket")
        where_is[device.name] = device
        sockets[device.socket] = device.name
        devices.append(device)
    control = checked["control"]
    if control is not None:
        control = os.path.join(base, control)
        if control in sockets:
            raise SchemaError("%s is the socket of device %s"
                              % (show(checked["control"]),
                                 show(sockets[control])), (), "control")
    wires = []
    targets = {}
    for index, table in enumerate(checked["wire"]):
        where = ("wire", index)
        source = _device_line(where_is, table["from"], where, "from")
        target = _device_line(where_is, table["to"], where, "to")
        if source == target:
            raise SchemaError("a wire from a line to itself", where, "to")
        if target in targets:
            raise SchemaError("line %s already has a wire into it (wire %d)"
                              % (show("%s.%d" % target), targets[target] + 1),
                              where, "to")
        targets[target] = index
        wires.append(Wire(source, target))
    return Bench(os.path.abspath(path), devices, wires, control)


def _device(base, table, raw, where):
    lines = table["lines"]
    if table["protocol"] != "standard" and "interrupts" in raw:
        raise SchemaError("applies to protocol \"standard\" only",
                          where, "interrupts")
    device = Device(name=table["name"],
                    socket=os.path.join(base, table["socket"]),
                    protocol=table["protocol"], lines=lines,
                    interrupts=table["interrupts"])
    for ref, level in table["initial"].items():
        device.initial[_line(device, ref, where, "initial")] = level
    for index, item in enumerate(table["pulse"]):
        at = where + ("pulse", index)
        device.generators.append(Pulse(_line(device, item["line"], at),
                                       item["at"], item["width"],
                                       item["level"]))
    for index, item in enumerate(table["square"]):
        at = where + ("square", index)
        if (item["count"] is None) == (not item["forever"]):
            raise SchemaError("give either count = N or forever = true",
                              at, "count" if "count" in raw["square"][index]
                              else None)
        device.generators.append(Square(_line(device, item["line"], at),
                                        item["period"], item["duty"],
                                        item["start"], item["count"]))
    for index, item in enumerate(table["sequence"]):
        at = where + ("sequence", index)
        device.generators.append(Sequence(_line(device, item["line"], at),
                                          item["steps"]))
    return device


def _line(device, ref, where, key="line"):
    """The number of the line ``ref`` names (its name, or its number as
    an integer or in digits) on ``device``."""
    count = len(device.lines)
    if isinstance(ref, str) and ref.isdigit() and ref.isascii():
        ref = int(ref)
    if isinstance(ref, int):
        if not 0 <= ref < count:
            raise SchemaError("line %d out of range: device %s has lines "
                              "0..%d" % (ref, show(device.name), count - 1),
                              where, key)
        return ref
    if ref in device.lines:
        return device.lines.index(ref)
    named = [name for name in device.lines if name]
    raise SchemaError("no line named %s on device %s; %s" % (
        show(ref), show(device.name),
        "its lines are " + ", ".join(named) if named else
        "its lines have no names: give a number 0..%d" % (count - 1)),
        where, key)


def _device_line(devices, ref, where, key):
    name, line = ref
    if name not in devices:
        raise SchemaError("no device named %s; the devices are %s"
                          % (show(name), ", ".join(devices)), where, key)
    return name, _line(devices[name], line, where, key)


# -- where in the file ---------------------------------------------------------

_NAME = r"[A-Za-z0-9_-]+"
_DOTTED = r"%s(?:\s*\.\s*%s)*" % (_NAME, _NAME)
_ARRAY_HEADER = re.compile(r"\s*\[\[\s*(%s)\s*\]\]\s*(#.*)?$" % _DOTTED)
_TABLE_HEADER = re.compile(r"\s*\[\s*(%s)\s*\]\s*(#.*)?$" % _DOTTED)
_KEY = re.compile(r"\s*(?:\"([^\"\\]*)\"|'([^']*)'|(%s))\s*[=.]" % _NAME)
_STRING = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'[^']*'")


def key_lines(text):
    """Where each table and key of ``text`` is: ``{where: line}`` for a
    table (``where`` as :class:`~.schema.SchemaError` has it) and
    ``{(where, key): line}`` for a key, the first line of each. A
    reading of the text good for messages, not a parser: it knows the
    headers, keys and brackets of multi-line values."""
    found = {}
    latest = {(): ()}     # header names -> where its latest table is
    counts = {}
    current = ()
    depth = 0             # brackets a multi-line value left open
    for number, line in enumerate(text.splitlines(), 1):
        if depth == 0:
            header = _ARRAY_HEADER.match(line)
            if header:
                names = tuple(n.strip() for n in header.group(1).split("."))
                parent = latest.get(names[:-1], ())
                index = counts.get((parent, names[-1]), 0)
                counts[(parent, names[-1])] = index + 1
                current = latest[names] = parent + (names[-1], index)
                found.setdefault(current, number)
                continue
            header = _TABLE_HEADER.match(line)
            if header:
                names = tuple(n.strip() for n in header.group(1).split("."))
                parent = latest.get(names[:-1], ())
                found.setdefault((parent, names[-1]), number)
                current = latest[names] = parent + (names[-1],)
                continue
            key = _KEY.match(line)
            if key:
                name = next(g for g in key.groups() if g is not None)
                found.setdefault((current, name), number)
        value = _STRING.sub("", line.split("=", 1)[-1] if depth == 0
                            else line).split("#", 1)[0]
        depth = max(0, depth + value.count("[") + value.count("{")
                    - value.count("]") - value.count("}"))
    return found


def _describe(raw, where):
    """``device "panel", pulse 2`` for ``("device", 0, "pulse", 1)``."""
    parts = []
    table = raw
    for kind, index in zip(where[::2], where[1::2]):
        try:
            table = table[kind][index]
        except (KeyError, IndexError, TypeError):
            table = None
        name = table.get("name") if isinstance(table, dict) else None
        parts.append("%s %s" % (kind, show(name) if isinstance(name, str)
                                and name else index + 1))
    return ", ".join(parts)


def _message(path, text, raw, exc):
    found = key_lines(text)
    line = found.get((exc.where, exc.key)) if exc.key else None
    where = exc.where
    # A table without a header line of its own (an inline one) is found
    # by the key that holds it, or by the table around it.
    while line is None and where:
        line = found.get(where) or found.get((where[:-2], where[-2]))
        where = where[:-2]
    place = "%s:%d" % (path, line) if line else path
    context = ", ".join(p for p in (_describe(raw, exc.where),
                                    "key %s" % show(exc.key) if exc.key
                                    else "") if p)
    return "%s: %s%s" % (place, context + ": " if context else "", exc)
