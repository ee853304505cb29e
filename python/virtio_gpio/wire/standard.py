"""The virtio 1.2 GPIO device's wire format (device ID 41).

Typed from the virtio specification ("GPIO Device"), all little-endian:
config ``{le16 ngpio, u8 padding[2], le32 gpio_names_size}``; a request
``{le16 type, le16 gpio, le32 value}`` answered in its own chain by
``{u8 status, u8 value}`` (GET_LINE_NAMES: ``{u8 status, u8
names[size]}``); an eventq chain ``{le16 gpio}`` answered by ``{u8
status}`` when the line triggers.
"""

import enum
import struct

DEVICE_ID = 41
#: feature bit: the device has an eventq and delivers interrupts
F_IRQ = 0

VQ_REQUEST = 0
VQ_EVENT = 1

CONFIG = struct.Struct("<HxxI")
REQUEST = struct.Struct("<HHI")
RESPONSE = struct.Struct("<BB")
IRQ_REQUEST = struct.Struct("<H")
IRQ_RESPONSE = struct.Struct("<B")

#: the largest names block the driver fetches (the spec sets no bound)
NAMES_MAX = 32768


class Msg(enum.IntEnum):
    """Request types on the requestq."""

    GET_LINE_NAMES = 0x0001
    GET_DIRECTION = 0x0002
    SET_DIRECTION = 0x0003
    GET_VALUE = 0x0004
    SET_VALUE = 0x0005
    SET_IRQ_TYPE = 0x0006


class Status(enum.IntEnum):
    """A response's status byte."""

    OK = 0x00
    ERR = 0x01


class Direction(enum.IntEnum):
    """GET_DIRECTION's result and SET_DIRECTION's argument."""

    NONE = 0x00
    OUT = 0x01
    IN = 0x02


class IrqType(enum.IntEnum):
    """SET_IRQ_TYPE's argument: the kernel's IRQ_TYPE_* values."""

    NONE = 0x00
    EDGE_RISING = 0x01
    EDGE_FALLING = 0x02
    EDGE_BOTH = 0x03
    LEVEL_HIGH = 0x04
    LEVEL_LOW = 0x08


class IrqStatus(enum.IntEnum):
    """An eventq response's status byte."""

    INVALID = 0x00
    VALID = 0x01
