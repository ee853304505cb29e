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
    """The front end's memory table, mmap'ed.

    Every request's descriptors are looked up here, so the lookup keeps
    flat tuples rather than walking the ``Region`` objects.
    """

    def __init__(self):
        self.regions: List[Region] = []
        #: changes whenever the table does: what was located before (a
        #: ring's place, see :class:`~.vring.Vring`) must be located again
        self.generation = 0
        # (start, end, map, map offset of address 0), guest-physical and
        # the front end's own ("user") addresses
        self._guest: List[tuple] = []
        self._user: List[tuple] = []

    def close(self):
        for region in self.regions:
            region.map.close()
        self.regions = []
        self._guest, self._user = [], []
        self.generation += 1

    def add(self, guest_addr, size, user_addr, mmap_offset, fd):
        page = mmap.ALLOCATIONGRANULARITY
        aligned = mmap_offset - mmap_offset % page
        mapping = mmap.mmap(fd, size + (mmap_offset - aligned),
                            mmap.MAP_SHARED,
                            mmap.PROT_READ | mmap.PROT_WRITE, offset=aligned)
        region = Region(guest_addr, size, user_addr, mapping,
                        mmap_offset - aligned)
        self.regions.append(region)
        self._guest.append((guest_addr, guest_addr + size, mapping,
                            region.offset - guest_addr))
        self._user.append((user_addr, user_addr + size, mapping,
                           region.offset - user_addr))
        self.generation += 1

    def locate(self, addr, length, user=False):
        """(the mmap, the offset in it) of ``length`` bytes at ``addr``."""
        for start, end, mapping, delta in self._user if user else self._guest:
            if start <= addr and addr + length <= end:
                return mapping, addr + delta
        raise ProtocolError("address %#x+%d outside guest memory" % (addr, length))

    def read(self, addr, length, user=False):
        mapping, off = self.locate(addr, length, user)
        return mapping[off:off + length]

    def write(self, addr, data, user=False):
        mapping, off = self.locate(addr, len(data), user)
        mapping[off:off + len(data)] = data
