"""The vhost-user wire: request codes, flags, feature bits, the header.

After QEMU's docs/interop/vhost-user.rst, the part this backend speaks.
"""

import enum
import struct

class Request(enum.IntEnum):
    """Front-end requests (vhost-user.rst, "Front-end message types").

    Each is handled by the ``Connection.on_<name>`` method of that name.
    """

    GET_FEATURES = 1
    SET_FEATURES = 2
    SET_OWNER = 3
    RESET_OWNER = 4
    SET_MEM_TABLE = 5
    SET_VRING_NUM = 8
    SET_VRING_ADDR = 9
    SET_VRING_BASE = 10
    GET_VRING_BASE = 11
    SET_VRING_KICK = 12
    SET_VRING_CALL = 13
    SET_VRING_ERR = 14
    GET_PROTOCOL_FEATURES = 15
    SET_PROTOCOL_FEATURES = 16
    GET_QUEUE_NUM = 17
    SET_VRING_ENABLE = 18
    SET_BACKEND_REQ_FD = 21
    GET_CONFIG = 24
    SET_CONFIG = 25


FLAG_VERSION = 0x1
FLAG_REPLY = 0x4
FLAG_NEED_REPLY = 0x8

F_VERSION_1 = 1 << 32
#: VIRTIO_RING_F_INDIRECT_DESC: the rings' chains may refer to indirect
#: tables (a transport feature, offered for the standard device)
F_INDIRECT_DESC = 1 << 28
F_PROTOCOL_FEATURES = 1 << 30
PF_MQ = 1 << 0
PF_REPLY_ACK = 1 << 3
PF_BACKEND_REQ = 1 << 5
PF_CONFIG = 1 << 9

HEADER = struct.Struct("<III")
VRING_INDEX_MASK = 0xFF
VRING_NOFD = 0x100

NUM_QUEUES = 2
MAX_FDS = 8
#: the largest payload a GPIO device's messages carry (SET_MEM_TABLE of 8
#: regions, GET_CONFIG of a 2020 config space), with room to spare
MAX_PAYLOAD = 8192


class ProtocolError(Exception):
    """The front end sent something this backend cannot accept."""
