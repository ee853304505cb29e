"""The front end's memory table, mmap'ed: guest addresses to bytes."""

import dataclasses
import mmap
from typing import List

from .protocol import ProtocolError


@dataclasses.dataclass
class Region:
    guest_addr: int
    size: int
    user_addr: int
    map: mmap.mmap
    offset: int


class GuestMemory:
    """The front end's memory table, mmap'ed."""

    def __init__(self):
        self.regions: List[Region] = []

    def close(self):
        for region in self.regions:
            region.map.close()
        self.regions = []

    def add(self, guest_addr, size, user_addr, mmap_offset, fd):
        page = mmap.ALLOCATIONGRANULARITY
        aligned = mmap_offset - mmap_offset % page
        mapping = mmap.mmap(fd, size + (mmap_offset - aligned),
                            mmap.MAP_SHARED,
                            mmap.PROT_READ | mmap.PROT_WRITE, offset=aligned)
        self.regions.append(Region(guest_addr, size, user_addr, mapping,
                                   mmap_offset - aligned))

    def _find(self, addr, length, user):
        for r in self.regions:
            base = r.user_addr if user else r.guest_addr
            if base <= addr and addr + length <= base + r.size:
                return r, r.offset + addr - base
        raise ProtocolError("address %#x+%d outside guest memory" % (addr, length))

    def read(self, addr, length, user=False):
        region, off = self._find(addr, length, user)
        return region.map[off:off + length]

    def write(self, addr, data, user=False):
        region, off = self._find(addr, len(data), user)
        region.map[off:off + len(data)] = data
