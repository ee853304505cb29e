"""The 2020 proposal's wire format (device ID 30, version 1).

Queue 0 carries device-to-driver messages (replies and HOST_LEVEL
events), queue 1 driver-to-device requests; every message is 8 bytes,
``{le16 type, le16 line, le32 value}``. A reply carries the request's
type with bit 15 set (``MSG_REPLY``): OR'ing HOST_LEVEL (0x11) into
replies, as first proposed, made a reply to REQUEST look like an event.
"""

import enum
import struct

#: The ID the proposal used; the virtio spec later gave 30 to the video
#: encoder, so the driver binds it only when asked.
DEVICE_ID = 30
PROTO_VERSION = 1

#: config-space layout: offsets of the fixed part's fields
CFG_VERSION = 0x00
CFG_NGPIO = 0x02
CFG_NAMES_SIZE = 0x04
CFG_NAME = 0x20
CFG_NAME_LEN = 32
#: where the line-names block starts, right after the fixed part
CFG_LINE_NAMES = 0x40
#: the largest config space the driver accepts
CFG_MAX_SIZE = 4096
#: what every transport can serve when it does not say how much it has
#: (virtio-mmio's window, vhost-user's GET_CONFIG limit)
CFG_WINDOW = 256
#: most lines one device may declare
MAX_LINES = 256

VQ_RX = 0   #: device -> driver
VQ_TX = 1   #: driver -> device

#: bit 15 marks a reply; bits 12..14 are reserved and must be zero
MSG_REPLY = 0x8000
MSG_RESERVED = 0x7000
#: the most negative errno a reply may carry (the kernel's MAX_ERRNO)
MAX_ERRNO = 4095


class MsgType(enum.IntEnum):
    """Values of a message's ``type`` field (replies add ``MSG_REPLY``)."""

    REQUEST = 0x0001
    DIRECTION_INPUT = 0x0002
    DIRECTION_OUTPUT = 0x0003
    GET_DIRECTION = 0x0004
    GET_VALUE = 0x0005
    SET_VALUE = 0x0006
    HOST_LEVEL = 0x0011


REQUEST_TYPES = frozenset(t for t in MsgType if t is not MsgType.HOST_LEVEL)


class Direction(enum.IntEnum):
    """A line's direction as GET_DIRECTION replies carry it."""

    OUT = 0
    IN = 1


MSG = struct.Struct("<HHI")
MSG_SIZE = MSG.size
CONFIG_HEADER = struct.Struct("<BBHI24s%ds" % CFG_NAME_LEN)
assert CONFIG_HEADER.size == CFG_LINE_NAMES


def encode(msg_type, line, value):
    """Pack one message; a negative ``value`` is stored two's complement."""
    return MSG.pack(msg_type, line, value & 0xFFFFFFFF)


def decode(data):
    """Unpack one message into ``(type, line, value)`` with a signed value."""
    msg_type, line, raw = MSG.unpack(data)
    value = raw - (1 << 32) if raw & 0x80000000 else raw
    return msg_type, line, value


def reply_type(request_type):
    """Type field of the reply to ``request_type`` (the reply rule)."""
    return request_type | MSG_REPLY


def build_config(ngpio, names_block, name=b"", version=PROTO_VERSION,
                 names_size=None):
    """Config-space bytes: the 64-byte fixed part then the names block."""
    if names_size is None:
        names_size = len(names_block)
    header = CONFIG_HEADER.pack(version, 0, ngpio, names_size, b"", name)
    return header + names_block
