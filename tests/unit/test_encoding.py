"""Byte-exact little-endian encoding of everything on the wire."""

import errno
import struct

import pytest

from virtio_gpio import MsgType, Outgoing, VirtioGpioError
from virtio_gpio.wire import id30 as id30_wire
from virtio_gpio._binding import ffi, lib


def test_message_layout_matches_header():
    assert ffi.sizeof("struct vgpio_msg") == 8
    assert ffi.offsetof("struct vgpio_msg", "line") == 2
    assert ffi.offsetof("struct vgpio_msg", "value") == 4
    assert id30_wire.MSG_SIZE == 8


def test_requests_are_encoded_little_endian(make_chip):
    # The 2020 patch (v3) stored host-order integers into __le16/__le32
    # fields.
    chip = make_chip(256)
    chip.direction_output(255, 1)
    chip.set_value(255, 1)
    raw = list(chip.device.received)
    assert raw[-2] == bytes([0x03, 0x00, 0xFF, 0x00, 0x01, 0x00, 0x00, 0x00])
    assert raw[-1] == bytes([0x06, 0x00, 0xFF, 0x00, 0x01, 0x00, 0x00, 0x00])


def test_reply_decoded_little_endian(chip):
    # A reply carrying errno -EIO as FB FF FF FF.
    reply = bytes([0x05, 0x80, 0x02, 0x00, 0xFB, 0xFF, 0xFF, 0xFF])
    transport = chip.transport
    transport.device_paused = True
    transport.before_wait = lambda line: transport.deliver(
        [Outgoing(reply, 8)])
    with pytest.raises(VirtioGpioError) as info:
        chip.get_value(2)
    assert info.value.errno == errno.EIO


def test_big_endian_reply_is_rejected(chip):
    transport = chip.transport
    transport.device_paused = True
    wrong = struct.pack(">HHI", id30_wire.reply_type(MsgType.GET_VALUE), 2, 1)
    transport.before_wait = lambda line: transport.deliver(
        [Outgoing(wrong, 8)])
    with pytest.raises(VirtioGpioError):
        chip.get_value(2)
    assert chip.stats["bad_type"] == 1


def test_config_fields_little_endian(make_chip):
    chip = make_chip(5)
    assert chip.transport.config[2:4] == b"\x05\x00"
    assert chip.ngpio == 5
    names_size = struct.unpack_from("<I", chip.transport.config, 4)[0]
    assert names_size == len(chip.device.names_block())


def test_reply_rule_is_unambiguous():
    # 0x01 | 0x11 == 0x11 made a REQUEST reply look like HOST_LEVEL.
    replies = {id30_wire.reply_type(t) for t in id30_wire.REQUEST_TYPES}
    assert MsgType.HOST_LEVEL not in replies
    assert len(replies) == len(id30_wire.REQUEST_TYPES)
    assert all(r & lib.VGPIO_ID30_MSG_REPLY for r in replies)
    assert not any(r & lib.VGPIO_ID30_MSG_RESERVED for r in replies)
