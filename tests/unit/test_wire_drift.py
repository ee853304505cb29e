"""The plain-Python wire formats and line values against the driver's C
headers: typed twice on purpose (each from its specification), so they
must agree name for name, value for value. Read from the headers' text,
so this needs no compiled core."""

import os
import re

import pytest

from checkout import ROOT
from virtio_gpio import lines
from virtio_gpio.wire import id30, standard

KERNEL = os.path.join(ROOT, "kernel")
ID30_HEADER = "vgpio_id30_proto.h"
STD_HEADER = "vgpio_std_proto.h"
CORE_HEADER = "vgpio_core.h"


def defines(header):
    """{macro: value} of the header's plain numeric #defines."""
    with open(os.path.join(KERNEL, header)) as f:
        text = f.read()
    return {name: int(value, 0) for name, value in re.findall(
        r"^#define\s+(\w+)\s+((?:0x[0-9a-fA-F]+)|\d+)\b", text, re.M)}


def by_prefix(header, prefix):
    return {name[len(prefix):]: value
            for name, value in defines(header).items()
            if name.startswith(prefix)}


@pytest.mark.parametrize("enum, header, prefix", [
    (id30.MsgType, ID30_HEADER, "VGPIO_ID30_MSG_"),
    (id30.Direction, ID30_HEADER, "VGPIO_ID30_DIRECTION_"),
    (standard.Msg, STD_HEADER, "VGPIO_STD_MSG_"),
    (standard.Status, STD_HEADER, "VGPIO_STD_STATUS_"),
    (standard.Direction, STD_HEADER, "VGPIO_STD_DIRECTION_"),
    (standard.IrqType, STD_HEADER, "VGPIO_STD_IRQ_TYPE_"),
    (standard.IrqStatus, STD_HEADER, "VGPIO_STD_IRQ_STATUS_"),
    (lines.Op, CORE_HEADER, "VGPIO_OP_"),
])
def test_every_member_matches_the_header(enum, header, prefix):
    in_header = by_prefix(header, prefix)
    # Macros that are not wire values (REPLY, RESERVED are bits of the type
    # field; LAST and LEVEL_BOTH are derived) are checked below, or derived.
    for extra in ("REPLY", "RESERVED", "LAST", "LEVEL_BOTH"):
        in_header.pop(extra, None)
    assert {m.name: int(m) for m in enum} == in_header


def test_edges_match_the_core_header():
    # Users watch Edge.RISING; the header says VGPIO_IRQ_EDGE_RISING.
    in_header = {name.replace("EDGE_", "", 1): value for name, value
                 in by_prefix(CORE_HEADER, "VGPIO_IRQ_").items()
                 if name != "LEVEL_BOTH"}
    assert {m.name: int(m) for m in lines.Edge} == in_header


def test_the_core_reports_directions_as_gpiolib_does():
    # GET_DIRECTION's result is the core's, whatever the wire says.
    assert {m.name: int(m) for m in lines.Direction} == {"OUT": 0, "IN": 1}
    assert by_prefix(CORE_HEADER, "VGPIO_LINE_DIRECTION_") == {"OUT": 0,
                                                               "IN": 1}


@pytest.mark.parametrize("value, header, macro", [
    (id30.DEVICE_ID, ID30_HEADER, "VGPIO_ID30_DEVICE_ID"),
    (id30.PROTO_VERSION, ID30_HEADER, "VGPIO_ID30_PROTO_VERSION"),
    (id30.CFG_VERSION, ID30_HEADER, "VGPIO_ID30_CFG_VERSION"),
    (id30.CFG_NGPIO, ID30_HEADER, "VGPIO_ID30_CFG_NGPIO"),
    (id30.CFG_NAMES_SIZE, ID30_HEADER, "VGPIO_ID30_CFG_NAMES_SIZE"),
    (id30.CFG_NAME, ID30_HEADER, "VGPIO_ID30_CFG_NAME"),
    (id30.CFG_NAME_LEN, ID30_HEADER, "VGPIO_ID30_CFG_NAME_LEN"),
    (id30.CFG_LINE_NAMES, ID30_HEADER, "VGPIO_ID30_CFG_LINE_NAMES"),
    (id30.CFG_MAX_SIZE, ID30_HEADER, "VGPIO_ID30_CFG_MAX_SIZE"),
    (id30.CFG_WINDOW, CORE_HEADER, "VGPIO_CFG_WINDOW"),
    (id30.MAX_LINES, ID30_HEADER, "VGPIO_ID30_MAX_LINES"),
    (id30.VQ_RX, ID30_HEADER, "VGPIO_ID30_VQ_RX"),
    (id30.VQ_TX, ID30_HEADER, "VGPIO_ID30_VQ_TX"),
    (id30.MSG_REPLY, ID30_HEADER, "VGPIO_ID30_MSG_REPLY"),
    (id30.MSG_RESERVED, ID30_HEADER, "VGPIO_ID30_MSG_RESERVED"),
    (id30.MAX_ERRNO, ID30_HEADER, "VGPIO_ID30_MAX_ERRNO"),
    (standard.DEVICE_ID, STD_HEADER, "VGPIO_STD_DEVICE_ID"),
    (standard.F_IRQ, STD_HEADER, "VGPIO_STD_F_IRQ"),
    (standard.VQ_REQUEST, STD_HEADER, "VGPIO_STD_VQ_REQUEST"),
    (standard.VQ_EVENT, STD_HEADER, "VGPIO_STD_VQ_EVENT"),
    (standard.CONFIG.size, STD_HEADER, "VGPIO_STD_CFG_SIZE"),
    (standard.NAMES_MAX, STD_HEADER, "VGPIO_STD_NAMES_MAX"),
])
def test_every_constant_matches_the_header(value, header, macro):
    assert value == defines(header)[macro]


def test_the_header_parser_reads_what_it_checks():
    # A parser that found nothing would let every comparison above pass
    # on empty sets.
    assert len(defines(ID30_HEADER)) >= 25
    assert len(defines(STD_HEADER)) >= 25
    assert by_prefix(STD_HEADER, "VGPIO_STD_IRQ_TYPE_")["LEVEL_LOW"] == 8


def test_each_protocol_header_names_only_its_own_protocol():
    # An unqualified VGPIO_ name belongs to the core, not to either wire.
    assert all(name.startswith("VGPIO_ID30_")
               for name in defines(ID30_HEADER))
    assert all(name.startswith("VGPIO_STD_") for name in defines(STD_HEADER))
