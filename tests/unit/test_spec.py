"""The spec (Documentation/spec.rst) agrees with the C header and the
device model, and keeps the review's points fixed."""

import os
import re

from checkout import ROOT
from virtio_gpio import Id30Device
from virtio_gpio.wire import id30 as id30_wire
from virtio_gpio._binding import ffi

SPEC = os.path.join(ROOT, "Documentation", "spec.rst")
HEADER = os.path.join(ROOT, "kernel", "vgpio_id30_proto.h")
# The config window is the transport's, so the core's header states it.
CORE_HEADER = os.path.join(ROOT, "kernel", "vgpio_core.h")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def header_constants(text):
    return {m.group(1): int(m.group(2), 0) for m in re.finditer(
        r"^#define\s+(VGPIO_\w+)\s+(0x[0-9a-fA-F]+|\d+)\b", text, re.MULTILINE)}


def table_rows(spec, name):
    """Cells of each body row of the grid table with ``:name: name``."""
    start = spec.index(":name: %s" % name)
    block = spec[start:].split("\n\n", 2)[1]
    rows = []
    for line in block.splitlines():
        line = line.strip()
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if cells[0]:
                rows.append(cells)
    return rows[1:]  # drop the header row


def drift(spec, header, core_header=None):
    """Every disagreement between the spec text and the headers' text."""
    consts = header_constants(header)
    core = header_constants(core_header if core_header is not None
                            else read(CORE_HEADER))
    wire = dict(consts)
    consts.update(core)
    problems = []

    def expect(symbol, value, where):
        if consts.get(symbol) != value:
            problems.append("%s: spec says %s=%#x, header says %s"
                            % (where, symbol, value, consts.get(symbol)))

    types = {row[1]: int(row[0], 16) for row in table_rows(spec, "message-types")}
    for symbol, code in types.items():
        expect(symbol, code, "message-types")
    header_types = {k for k in wire if k.startswith("VGPIO_ID30_MSG_")}
    flags = {row[1]: int(row[0], 16) for row in table_rows(spec, "type-flags")}
    for symbol, mask in flags.items():
        expect(symbol, mask, "type-flags")
    missing = header_types - set(types) - set(flags)
    if missing:
        problems.append("message types missing from the spec: %s"
                        % ", ".join(sorted(missing)))
    cfg = {row[3]: int(row[0], 16) for row in table_rows(spec, "config-layout")}
    for symbol, offset in cfg.items():
        expect(symbol, offset, "config-layout")
    sizes = ("VGPIO_ID30_CFG_NAME_LEN", "VGPIO_ID30_CFG_MAX_SIZE",
             "VGPIO_CFG_WINDOW")
    for value, symbol in re.findall(
            r"(\d+) bytes \(``(VGPIO_(?:ID30_)?CFG_\w+)``\)", spec):
        expect(symbol, int(value), "config sizes")
    for symbol in sizes[1:]:
        if "``%s``" % symbol not in spec:
            problems.append("config size missing from the spec: " + symbol)
    offsets = {k for k in wire if k.startswith("VGPIO_ID30_CFG_") and
               k not in sizes}
    if offsets - set(cfg):
        problems.append("config fields missing from the spec: %s"
                        % ", ".join(sorted(offsets - set(cfg))))
    for row in table_rows(spec, "virtqueues"):
        expect(row[1], int(row[0]), "virtqueues")
    for number, symbol in re.findall(r"(\d+) \(``(VGPIO_\w+)``\)", spec):
        expect(symbol, int(number), "prose")
    device_id = re.search(r"^:Device ID: (\d+)$", spec, re.MULTILINE)
    expect("VGPIO_ID30_DEVICE_ID", int(device_id.group(1)), "field list")
    return problems


def test_spec_agrees_with_header():
    assert drift(read(SPEC), read(HEADER)) == []


def test_drift_detected_when_header_changes():
    header = read(HEADER).replace("VGPIO_ID30_MSG_GET_VALUE	0x0005",
                                  "VGPIO_ID30_MSG_GET_VALUE	0x0007")
    assert header != read(HEADER)
    assert any("VGPIO_ID30_MSG_GET_VALUE" in p
               for p in drift(read(SPEC), header))


def test_drift_detected_when_spec_changes():
    spec = read(SPEC).replace(
        "| 0x04   | le32     | names_size | VGPIO_ID30_CFG_NAMES_SIZE",
        "| 0x08   | le32     | names_size | VGPIO_ID30_CFG_NAMES_SIZE")
    assert spec != read(SPEC)
    assert any("VGPIO_ID30_CFG_NAMES_SIZE" in p
               for p in drift(spec, read(HEADER)))
    spec = read(SPEC).replace("at most 256 (``VGPIO_ID30_MAX_LINES``)",
                              "at most 512 (``VGPIO_ID30_MAX_LINES``)")
    assert spec != read(SPEC)
    assert any("VGPIO_ID30_MAX_LINES" in p for p in drift(spec, read(HEADER)))
    spec = read(SPEC).replace("256 bytes (``VGPIO_CFG_WINDOW``)",
                              "512 bytes (``VGPIO_CFG_WINDOW``)")
    assert spec != read(SPEC)
    assert any("VGPIO_CFG_WINDOW" in p for p in drift(spec, read(HEADER)))


def test_drift_detected_when_header_gains_a_type():
    header = read(HEADER).replace(
        "#define VGPIO_ID30_MSG_HOST_LEVEL",
        "#define VGPIO_ID30_MSG_GET_BIAS 0x0007\n"
        "#define VGPIO_ID30_MSG_HOST_LEVEL")
    assert any("GET_BIAS" in p for p in drift(read(SPEC), header))


def test_message_layout_table_matches_struct():
    rows = table_rows(read(SPEC), "message-layout")
    for offset, _, name, _ in rows:
        assert ffi.offsetof("struct vgpio_msg", name) == int(offset, 16)


def _hexdump_after(spec, marker):
    block = spec[spec.index(marker):].split("::\n\n", 1)[1].split("\n\n")[0]
    data = bytearray()
    for line in block.splitlines():
        words = line.split()
        if re.fullmatch(r"[0-9a-f]{4}", words[0]):
            words = words[1:]
        data += bytes(int(w, 16) for w in words)
    return bytes(data)


def test_worked_example_matches_the_model():
    spec = read(SPEC)
    device = Id30Device(["led", "button", "", "reset"], name="demo")
    config = _hexdump_after(spec, "has this config space")
    assert config == device.config_space()[:len(config)]
    assert len(config) == len(device.config_space())
    assert _hexdump_after(spec, "by posting") == id30_wire.encode(0x0005, 3, 0)
    device.lines[3].value = 1
    assert _hexdump_after(spec, "level 1 (type") == device.handle(
        id30_wire.encode(0x0005, 3, 0))[0].payload
    assert _hexdump_after(spec, "Had the line failed") == id30_wire.encode(
        0x8005, 3, -5)
    device.set_input(1, 1)
    assert _hexdump_after(spec, "the device sends HOST_LEVEL") == \
        device.take_events()[0].payload


def test_review_points_are_fixed():
    spec = read(SPEC)
    for typo in ("virtiual", "eg.", "an VMM", "an hardware", "asynchronically",
                 "unix-style", "gues:", "line line", "Version_"):
        assert typo not in spec
    # Headings: '=' with overline for the title only, then '=', '-', '~'.
    lines = spec.splitlines()
    adornments = {line[0] for line in lines
                  if len(line) > 3 and len(set(line)) == 1 and line[0] in "=-~\"."}
    assert adornments <= {"=", "-", "~"}
    overlined = [i for i in range(1, len(lines) - 1)
                 if lines[i - 1] and set(lines[i - 1]) == {"="} and
                 lines[i + 1] and set(lines[i + 1]) == {"="}]
    assert len(overlined) == 1
    assert lines[0].startswith(".. SPDX-License-Identifier:")
