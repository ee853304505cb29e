"""Protocol constants and message coding, taken from the compiled C header.

Nothing here repeats a number: every constant comes from ``vgpio_proto.h``
through the cffi module, so Python and C cannot disagree.
"""

import enum
import struct

from ._binding import lib

DEVICE_ID = lib.VGPIO_DEVICE_ID
PROTO_VERSION = lib.VGPIO_PROTO_VERSION
MAX_LINES = lib.VGPIO_MAX_LINES
CFG_MAX_SIZE = lib.VGPIO_CFG_MAX_SIZE
CFG_WINDOW = lib.VGPIO_CFG_WINDOW
CFG_NAME_LEN = lib.VGPIO_CFG_NAME_LEN
CFG_LINE_NAMES = lib.VGPIO_CFG_LINE_NAMES
MSG_REPLY = lib.VGPIO_MSG_REPLY
MSG_RESERVED = lib.VGPIO_MSG_RESERVED
MAX_ERRNO = lib.VGPIO_MAX_ERRNO
VQ_RX = lib.VGPIO_VQ_RX
VQ_TX = lib.VGPIO_VQ_TX


class MsgType(enum.IntEnum):
    """Values of a message's ``type`` field (replies add ``MSG_REPLY``)."""

    REQUEST = lib.VGPIO_MSG_REQUEST
    DIRECTION_INPUT = lib.VGPIO_MSG_DIRECTION_INPUT
    DIRECTION_OUTPUT = lib.VGPIO_MSG_DIRECTION_OUTPUT
    GET_DIRECTION = lib.VGPIO_MSG_GET_DIRECTION
    GET_VALUE = lib.VGPIO_MSG_GET_VALUE
    SET_VALUE = lib.VGPIO_MSG_SET_VALUE
    HOST_LEVEL = lib.VGPIO_MSG_HOST_LEVEL


REQUEST_TYPES = frozenset(t for t in MsgType if t is not MsgType.HOST_LEVEL)


class Direction(enum.IntEnum):
    """Line direction as GET_DIRECTION reports it."""

    OUTPUT = lib.VGPIO_DIRECTION_OUT
    INPUT = lib.VGPIO_DIRECTION_IN


class Op(enum.IntEnum):
    """GPIO operations of the core, the same for both protocols."""

    REQUEST = lib.VGPIO_OP_REQUEST
    DIRECTION_INPUT = lib.VGPIO_OP_DIRECTION_INPUT
    DIRECTION_OUTPUT = lib.VGPIO_OP_DIRECTION_OUTPUT
    GET_DIRECTION = lib.VGPIO_OP_GET_DIRECTION
    GET_VALUE = lib.VGPIO_OP_GET_VALUE
    SET_VALUE = lib.VGPIO_OP_SET_VALUE
    FREE = lib.VGPIO_OP_FREE


class Edge(enum.IntEnum):
    """Which line changes raise an event (level triggers: standard only)."""

    NONE = lib.VGPIO_IRQ_NONE
    RISING = lib.VGPIO_IRQ_EDGE_RISING
    FALLING = lib.VGPIO_IRQ_EDGE_FALLING
    BOTH = lib.VGPIO_IRQ_EDGE_BOTH
    LEVEL_HIGH = lib.VGPIO_IRQ_LEVEL_HIGH
    LEVEL_LOW = lib.VGPIO_IRQ_LEVEL_LOW


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
