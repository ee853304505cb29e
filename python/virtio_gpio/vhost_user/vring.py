"""One split virtqueue, walked in guest memory (virtio 1.x, 2.7).

Every request the guest makes passes through ``Vring.pop`` and
``Vring.push``, so they read and write the mmap in place with
precompiled structs, and find where the ring lies in guest memory once,
not per access: the place is kept until the memory table or the ring's
addresses change.

A chain is zero or more descriptors of the ring followed, or not, by one
that refers to an indirect table (VIRTQ_DESC_F_INDIRECT, "Indirect
Descriptors"), whose own descriptors chain from entry 0. The walk
refuses, with :class:`~.protocol.ProtocolError`, what the driver
requirements there and in "Message Framing" rule out and what it cannot
walk safely: a descriptor beyond its ring or table, a chain that loops
(longer than the ring, or than the table), a table whose length is not a
nonzero multiple of 16 or that lies outside guest memory, a table within
a table, an indirect descriptor with NEXT set, a chain of more than
CHAIN_MAX descriptors (ring and table together), and a device-readable
descriptor after a device-writable one. The WRITE flag of the
descriptor that refers to a table is ignored, as the device
requirements there say. A table is followed whether or not
VIRTIO_RING_F_INDIRECT_DESC was negotiated, as QEMU's virtqueue walk and
Linux's vhost do: it is walked as safely either way.
"""

import os
import struct
from typing import Optional

from .protocol import ProtocolError

VRING_DESC = struct.Struct("<QIHH")
DESC_F_NEXT = 1
DESC_F_WRITE = 2
DESC_F_INDIRECT = 4
#: entries an indirect table can have: ``next`` is 16 bits, so a longer
#: table holds descriptors no chain reaches (Linux's vhost refuses it too)
INDIRECT_MAX = 1 << 16
#: descriptors one chain may have, ring and table together: a GPIO
#: message needs two or three, and without a bound one small table
#: named by every avail entry makes millions of parts per kick
CHAIN_MAX = 64
#: the largest split ring (virtio 1.x, "Virtqueues")
RING_MAX = 32768

_U16 = struct.Struct("<H")
_USED_ELEM = struct.Struct("<II")
#: what a call eventfd is written
_ONE = struct.pack("<Q", 1)


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
        #: (memory, its generation, num, desc, avail, used) and the
        #: (mmap, offset) of the desc table, the avail and the used ring
        self._place = None

    def close_fds(self):
        for fd in (self.kick_fd, self.call_fd):
            if fd is not None:
                os.close(fd)
        self.kick_fd = self.call_fd = None

    def _locate(self, mem):
        """Where the desc table and both rings lie, each checked whole:
        ((mmap, offset) of desc, of avail, of used)."""
        place = self._place
        if (place is not None and place[0] is mem and
                place[1] == (mem.generation, self.num, self.desc,
                             self.avail, self.used)):
            return place[2]
        num = self.num
        where = (mem.locate(self.desc, 16 * num, user=True),
                 mem.locate(self.avail, 4 + 2 * num, user=True),
                 mem.locate(self.used, 4 + 8 * num, user=True))
        self._place = (mem, (mem.generation, num, self.desc, self.avail,
                             self.used), where)
        return where

    def pop(self, mem):
        """Next available chain as (head, [(addr, len, writable), ...])."""
        if not (self.ready and self.enabled):
            return None
        (dmap, doff), (amap, aoff), _ = self._locate(mem)
        last = self.last_avail
        avail_idx = _U16.unpack_from(amap, aoff + 2)[0]
        if avail_idx == last:
            return None
        num = self.num
        if (avail_idx - last) & 0xFFFF > num:
            raise ProtocolError("avail index ran %d ahead of a ring of %d"
                                % ((avail_idx - last) & 0xFFFF, num))
        head = _U16.unpack_from(amap, aoff + 4 + 2 * (last % num))[0]
        self.last_avail = (last + 1) & 0xFFFF
        chain, index = [], head
        unpack = VRING_DESC.unpack_from
        writing = False
        for _ in range(num if num < CHAIN_MAX else CHAIN_MAX):
            if index >= num:
                raise ProtocolError("descriptor %d beyond ring of %d" % (index, num))
            addr, length, flags, nxt = unpack(dmap, doff + 16 * index)
            # Literal flags: the walk is the hot path, and a constant is
            # cheaper than a global's lookup. 6: WRITE or INDIRECT.
            if flags & 6:
                if flags & 4:
                    return head, _indirect(mem, chain, writing, addr, length,
                                           flags)
                writing = True
            elif writing:
                raise ProtocolError("descriptor %d: device-readable after a "
                                    "device-writable one" % index)
            chain.append((addr, length, writing))
            if not flags & 1:       # NEXT
                return head, chain
            index = nxt
        raise ProtocolError("descriptor chain loops or is longer than %d "
                            "descriptors" % CHAIN_MAX)

    def push(self, mem, head, length):
        umap, uoff = self._locate(mem)[2]
        idx = self.used_idx
        _USED_ELEM.pack_into(umap, uoff + 4 + 8 * (idx % self.num), head,
                             length)
        idx = self.used_idx = (idx + 1) & 0xFFFF
        _U16.pack_into(umap, uoff + 2, idx)

    def interrupt(self):
        if self.call_fd is not None:
            try:
                os.write(self.call_fd, _ONE)
            except BlockingIOError:
                pass  # a pipe already full of wake-ups is awake enough
            except OSError as exc:  # read-only, or its reader gone
                raise ProtocolError("queue %d: call fd: %s"
                                    % (self.index, exc)) from None


def _indirect(mem, chain, writing, addr, length, flags):
    """``chain`` (the ring's descriptors before the one at hand, the last
    of them writable if ``writing``) followed by the indirect table of
    ``length`` bytes at guest address ``addr``."""
    if flags & DESC_F_NEXT:
        raise ProtocolError("an indirect descriptor with NEXT set")
    if not length or length % VRING_DESC.size or \
            length > VRING_DESC.size * INDIRECT_MAX:
        raise ProtocolError("an indirect table of %d bytes: not a nonzero "
                            "multiple of %d up to %d entries"
                            % (length, VRING_DESC.size, INDIRECT_MAX))
    tmap, toff = mem.locate(addr, length)
    count = length // VRING_DESC.size
    unpack = VRING_DESC.unpack_from
    index = 0
    for _ in range(min(count, CHAIN_MAX - len(chain))):
        if index >= count:
            raise ProtocolError("indirect descriptor %d beyond a table of %d"
                                % (index, count))
        addr, length, flags, nxt = unpack(tmap, toff + VRING_DESC.size * index)
        if flags & DESC_F_INDIRECT:
            raise ProtocolError("indirect descriptor %d refers to a table "
                                "within a table" % index)
        if flags & DESC_F_WRITE:
            writing = True
        elif writing:
            raise ProtocolError("indirect descriptor %d: device-readable "
                                "after a device-writable one" % index)
        chain.append((addr, length, writing))
        if not flags & DESC_F_NEXT:
            return chain
        index = nxt
    raise ProtocolError("indirect descriptor chain loops or makes the chain "
                        "longer than %d descriptors" % CHAIN_MAX)
