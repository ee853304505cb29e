"""The backend's split-ring walk over a memfd, chains written by hand.

The vring code is on the backend's hot path and gets tuned for speed;
these pin down what must not change with it: chains read as the driver
wrote them, used elements where the spec puts them, and every ring a
hostile driver can lay out (a loop, a descriptor beyond the ring, an
avail index running ahead, an address outside memory, memory replaced
under the ring) refused with ProtocolError, never read out of bounds.
"""

import os
import struct

import pytest

from virtio_gpio.vhost_user import GuestMemory, ProtocolError, Vring
from virtio_gpio.vhost_user.rings import GuestRing
from virtio_gpio.vhost_user.vring import DESC_F_NEXT, DESC_F_WRITE

GUEST = 0x40000000      # guest-physical base of the region
USER = 0x7F0000000000   # the front end's address of the same bytes
SIZE = 1 << 16
NUM = 8
DESC, AVAIL, USED = 0x0, 0x1000, 0x2000
DATA = 0x4000


class Memory:
    """A memfd mapped as the backend maps it, and written as a driver."""

    def __init__(self):
        self.fd = os.memfd_create("vring-walk")
        os.ftruncate(self.fd, SIZE)
        self.mem = GuestMemory()
        self.mem.add(GUEST, SIZE, USER, 0, self.fd)
        self.raw = self.mem.regions[0].map

    def close(self):
        self.mem.close()
        os.close(self.fd)

    def desc(self, index, addr, length, flags=0, nxt=0):
        struct.pack_into("<QIHH", self.raw, DESC + 16 * index, addr, length,
                         flags, nxt)

    def avail(self, idx, *heads):
        for slot, head in enumerate(heads):
            struct.pack_into("<H", self.raw, AVAIL + 4 + 2 * slot, head)
        struct.pack_into("<H", self.raw, AVAIL + 2, idx)

    def used(self, slot):
        idx = struct.unpack_from("<H", self.raw, USED + 2)[0]
        return idx, struct.unpack_from("<II", self.raw, USED + 4 + 8 * slot)


@pytest.fixture
def memory():
    m = Memory()
    yield m
    m.close()


def ring(num=NUM):
    vring = Vring(0)
    vring.num = num
    vring.desc, vring.avail, vring.used = USER + DESC, USER + AVAIL, USER + USED
    vring.ready = vring.enabled = True
    return vring


def test_a_chain_is_read_as_written_and_returned_where_the_spec_says(memory):
    memory.desc(3, GUEST + DATA, 8, DESC_F_NEXT, 5)
    memory.desc(5, GUEST + DATA + 64, 2, DESC_F_WRITE)
    memory.avail(1, 3)
    vring = ring()
    assert vring.pop(memory.mem) == (3, [(GUEST + DATA, 8, False),
                                         (GUEST + DATA + 64, 2, True)])
    assert vring.pop(memory.mem) is None
    vring.push(memory.mem, 3, 2)
    assert memory.used(0) == (1, (3, 2))


def test_the_guest_ring_reads_and_writes_through_chains(memory):
    memory.raw[DATA:DATA + 8] = b"request!"
    memory.desc(0, GUEST + DATA, 4, DESC_F_NEXT, 1)
    memory.desc(1, GUEST + DATA + 4, 4, DESC_F_NEXT, 2)
    memory.desc(2, GUEST + DATA + 64, 3, DESC_F_WRITE)
    memory.avail(1, 0)

    class Conn:
        mem = memory.mem
        vrings = [ring()]

    guest = GuestRing(Conn, 0)
    chain = guest.pop()
    assert (chain.readable, chain.writable) == (b"request!", 3)
    guest.push(chain.token, b"\x00\x01", 2)
    assert bytes(memory.raw[DATA + 64:DATA + 66]) == b"\x00\x01"
    assert memory.used(0) == (1, (0, 2))


def test_indices_wrap_at_65536(memory):
    vring = ring()
    vring.last_avail = vring.used_idx = 0xFFFF
    memory.desc(0, GUEST + DATA, 2, DESC_F_WRITE)
    struct.pack_into("<H", memory.raw, AVAIL + 4 + 2 * (0xFFFF % NUM), 0)
    memory.avail(0)
    assert vring.pop(memory.mem)[0] == 0
    assert vring.last_avail == 0
    vring.push(memory.mem, 0, 1)
    assert struct.unpack_from("<H", memory.raw, USED + 2)[0] == 0


def test_a_ring_not_ready_or_not_enabled_gives_nothing(memory):
    memory.desc(0, GUEST + DATA, 2, DESC_F_WRITE)
    memory.avail(1, 0)
    vring = ring()
    vring.enabled = False
    assert vring.pop(memory.mem) is None
    vring.enabled, vring.ready = True, False
    assert vring.pop(memory.mem) is None


def test_a_looping_chain_is_refused(memory):
    memory.desc(0, GUEST + DATA, 1, DESC_F_NEXT, 1)
    memory.desc(1, GUEST + DATA, 1, DESC_F_NEXT, 0)
    memory.avail(1, 0)
    with pytest.raises(ProtocolError, match="loops"):
        ring().pop(memory.mem)


@pytest.mark.parametrize("head, nxt", [(NUM, 0), (0, NUM), (0, 0xFFFF)])
def test_a_descriptor_beyond_the_ring_is_refused(memory, head, nxt):
    memory.desc(0, GUEST + DATA, 1, DESC_F_NEXT, nxt)
    memory.avail(1, head)
    with pytest.raises(ProtocolError, match="beyond ring"):
        ring().pop(memory.mem)


def test_an_avail_index_running_ahead_is_refused(memory):
    memory.avail(NUM + 1)
    with pytest.raises(ProtocolError, match="ahead"):
        ring().pop(memory.mem)


@pytest.mark.parametrize("addr", [0, GUEST + SIZE - 4, GUEST - 8, 1 << 63])
def test_a_buffer_outside_memory_is_refused(memory, addr):
    """A readable one when the chain is read, a writable one when the
    device writes it."""
    memory.desc(0, addr, 8)
    memory.desc(1, addr, 8, DESC_F_WRITE)
    memory.avail(2, 0, 1)

    class Conn:
        mem = memory.mem
        vrings = [ring()]

    guest = GuestRing(Conn, 0)
    with pytest.raises(ProtocolError, match="outside guest memory"):
        guest.pop()
    chain = guest.pop()
    with pytest.raises(ProtocolError, match="outside guest memory"):
        guest.push(chain.token, bytes(8), 8)


def test_a_ring_outside_memory_is_refused(memory):
    vring = ring()
    vring.used = USER + SIZE - 8   # the used ring runs past the region
    memory.desc(0, GUEST + DATA, 2, DESC_F_WRITE)
    memory.avail(1, 0)
    with pytest.raises(ProtocolError, match="outside guest memory"):
        vring.pop(memory.mem)
        vring.push(memory.mem, 0, 1)


def test_new_memory_is_walked_not_the_old(memory):
    """SET_MEM_TABLE may come again: the ring is found in the new map."""
    vring = ring()
    memory.desc(0, GUEST + DATA, 2, DESC_F_WRITE)
    memory.avail(1, 0)
    assert vring.pop(memory.mem)[0] == 0
    other = Memory()
    try:
        memory.mem.close()
        memory.mem.add(GUEST, SIZE, USER, 0, other.fd)
        other.desc(4, GUEST + DATA, 2, DESC_F_WRITE)
        other.avail(2, 9, 4)
        assert vring.pop(memory.mem)[0] == 4
        vring.push(memory.mem, 4, 1)
        assert other.used(0) == (1, (4, 1))
        memory.mem.close()
        with pytest.raises(ProtocolError):
            vring.pop(memory.mem)
    finally:
        other.close()
