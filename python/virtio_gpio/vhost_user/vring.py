"""One split virtqueue, walked in guest memory (virtio 1.x, 2.7)."""

import os
import struct
from typing import Optional

from .protocol import ProtocolError

VRING_DESC = struct.Struct("<QIHH")
DESC_F_NEXT = 1
DESC_F_WRITE = 2


class Vring:
    """One split virtqueue, walked in guest memory."""

    def __init__(self, index):
        self.index = index
        self.num = 0
        self.desc = self.avail = self.used = 0
        self.last_avail = 0
        self.used_idx = 0
        self.kick_fd: Optional[int] = None
        self.call_fd: Optional[int] = None
        self.enabled = False
        self.ready = False

    def close_fds(self):
        for fd in (self.kick_fd, self.call_fd):
            if fd is not None:
                os.close(fd)
        self.kick_fd = self.call_fd = None

    def _u16(self, mem, addr):
        return struct.unpack("<H", mem.read(addr, 2, user=True))[0]

    def pop(self, mem):
        """Next available chain as (head, [(addr, len, writable), ...])."""
        if not (self.ready and self.enabled):
            return None
        avail_idx = self._u16(mem, self.avail + 2)
        if avail_idx == self.last_avail:
            return None
        if (avail_idx - self.last_avail) & 0xFFFF > self.num:
            raise ProtocolError("avail index ran %d ahead of a ring of %d"
                                % ((avail_idx - self.last_avail) & 0xFFFF, self.num))
        slot = self.last_avail % self.num
        head = self._u16(mem, self.avail + 4 + 2 * slot)
        self.last_avail = (self.last_avail + 1) & 0xFFFF
        chain, index = [], head
        for _ in range(self.num):
            if index >= self.num:
                raise ProtocolError("descriptor %d beyond ring of %d" % (index, self.num))
            addr, length, flags, nxt = VRING_DESC.unpack(
                mem.read(self.desc + 16 * index, 16, user=True))
            chain.append((addr, length, bool(flags & DESC_F_WRITE)))
            if not flags & DESC_F_NEXT:
                return head, chain
            index = nxt
        raise ProtocolError("descriptor chain loops")

    def push(self, mem, head, length):
        slot = self.used_idx % self.num
        mem.write(self.used + 4 + 8 * slot, struct.pack("<II", head, length),
                  user=True)
        self.used_idx = (self.used_idx + 1) & 0xFFFF
        mem.write(self.used + 2, struct.pack("<H", self.used_idx), user=True)

    def interrupt(self):
        if self.call_fd is not None:
            try:
                os.write(self.call_fd, struct.pack("<Q", 1))
            except BlockingIOError:
                pass  # a pipe already full of wake-ups is awake enough
