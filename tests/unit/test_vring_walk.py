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
from virtio_gpio.vhost_user.vring import (DESC_F_INDIRECT, DESC_F_NEXT,
                                          DESC_F_WRITE)

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


# -- indirect tables (VIRTQ_DESC_F_INDIRECT) ---------------------------------

TABLE = 0x6000      # where the tests put an indirect table


def table(memory, *entries):
    """Write an indirect table at TABLE: entries (addr, len, flags, next)."""
    for index, (addr, length, flags, nxt) in enumerate(entries):
        struct.pack_into("<QIHH", memory.raw, TABLE + 16 * index, addr,
                         length, flags, nxt)


def guest_ring(memory, vring):
    class Conn:
        mem = memory.mem
        vrings = [vring]

    return GuestRing(Conn, 0)


def test_a_request_through_an_indirect_table_is_read_and_answered(memory):
    """One ring descriptor refers to a table holding the request and the
    room for its response; the WRITE flag of the table's own descriptor
    says nothing (the device ignores it)."""
    memory.raw[DATA:DATA + 8] = b"request!"
    table(memory, (GUEST + DATA, 8, DESC_F_NEXT, 1),
          (GUEST + DATA + 64, 2, DESC_F_WRITE, 0))
    memory.desc(5, GUEST + TABLE, 32, DESC_F_INDIRECT | DESC_F_WRITE)
    memory.avail(1, 5)
    guest = guest_ring(memory, ring())
    chain = guest.pop()
    assert chain.token == (5, [(GUEST + DATA, 8, False),
                               (GUEST + DATA + 64, 2, True)])
    assert (chain.readable, chain.writable) == (b"request!", 2)
    guest.push(chain.token, b"\x00\x01", 2)
    assert bytes(memory.raw[DATA + 64:DATA + 66]) == b"\x00\x01"
    assert memory.used(0) == (1, (5, 2))


def test_ring_descriptors_then_a_table_make_one_chain(memory):
    """"Zero or more normal chained descriptors followed by a single
    descriptor with flags&VIRTQ_DESC_F_INDIRECT": an eventq buffer whose
    line is split between the ring and a table, whose entries chain out
    of order to the status."""
    memory.raw[DATA:DATA + 2] = b"\x07\x00"
    memory.desc(2, GUEST + DATA, 1, DESC_F_NEXT, 6)
    memory.desc(6, GUEST + TABLE, 48, DESC_F_INDIRECT)
    table(memory, (GUEST + DATA + 1, 1, DESC_F_NEXT, 2), (0, 0, 0, 0),
          (GUEST + DATA + 64, 1, DESC_F_WRITE, 0))
    memory.avail(1, 2)
    guest = guest_ring(memory, ring())
    chain = guest.pop()
    assert chain.token[0] == 2
    assert (chain.readable, chain.writable) == (b"\x07\x00", 1)
    guest.push(chain.token, b"\x01", 1)
    assert memory.raw[DATA + 64] == 1
    assert memory.used(0) == (1, (2, 1))


def test_a_table_may_have_more_entries_than_the_ring(memory):
    """The table's bound is its own length, not the ring's size."""
    entries = [(GUEST + DATA + i, 1, DESC_F_NEXT, i + 1)
               for i in range(NUM + 3)]
    entries.append((GUEST + DATA + 64, 2, DESC_F_WRITE, 0))
    table(memory, *entries)
    memory.desc(0, GUEST + TABLE, 16 * len(entries), DESC_F_INDIRECT)
    memory.avail(1, 0)
    head, parts = ring().pop(memory.mem)
    assert (head, len(parts)) == (0, NUM + 4)


@pytest.mark.parametrize("length", [0, 8, 24, 16 * (1 << 16) + 16])
def test_a_table_that_is_no_whole_number_of_descriptors_is_refused(
        memory, length):
    table(memory, (GUEST + DATA, 2, DESC_F_WRITE, 0))
    memory.desc(0, GUEST + TABLE, length, DESC_F_INDIRECT)
    memory.avail(1, 0)
    with pytest.raises(ProtocolError, match="indirect table of %d bytes"
                       % length):
        ring().pop(memory.mem)


@pytest.mark.parametrize("addr", [0, GUEST + SIZE - 16, 1 << 63])
def test_a_table_outside_memory_is_refused(memory, addr):
    memory.desc(0, addr, 32, DESC_F_INDIRECT)
    memory.avail(1, 0)
    with pytest.raises(ProtocolError, match="outside guest memory"):
        ring().pop(memory.mem)


def test_a_table_within_a_table_is_refused(memory):
    table(memory, (GUEST + DATA, 8, DESC_F_NEXT, 1),
          (GUEST + TABLE, 32, DESC_F_INDIRECT, 0))
    memory.desc(0, GUEST + TABLE, 32, DESC_F_INDIRECT)
    memory.avail(1, 0)
    with pytest.raises(ProtocolError, match="table within a table"):
        ring().pop(memory.mem)


def test_an_indirect_descriptor_with_next_is_refused(memory):
    table(memory, (GUEST + DATA, 2, DESC_F_WRITE, 0))
    memory.desc(0, GUEST + TABLE, 16, DESC_F_INDIRECT | DESC_F_NEXT, 1)
    memory.desc(1, GUEST + DATA + 64, 2, DESC_F_WRITE)
    memory.avail(1, 0)
    with pytest.raises(ProtocolError, match="indirect descriptor with NEXT"):
        ring().pop(memory.mem)


@pytest.mark.parametrize("nxt", [0, 1])
def test_a_looping_table_is_refused(memory, nxt):
    """Bounded by the table's length: the walk ends, never hangs."""
    table(memory, (GUEST + DATA, 1, DESC_F_NEXT, 1),
          (GUEST + DATA, 1, DESC_F_NEXT, nxt))
    memory.desc(0, GUEST + TABLE, 32, DESC_F_INDIRECT)
    memory.avail(1, 0)
    with pytest.raises(ProtocolError, match="indirect descriptor chain loops"):
        ring().pop(memory.mem)


@pytest.mark.parametrize("nxt", [2, 0xFFFF])
def test_a_descriptor_beyond_the_table_is_refused(memory, nxt):
    table(memory, (GUEST + DATA, 1, DESC_F_NEXT, nxt),
          (GUEST + DATA + 64, 2, DESC_F_WRITE, 0))
    memory.desc(0, GUEST + TABLE, 32, DESC_F_INDIRECT)
    memory.avail(1, 0)
    with pytest.raises(ProtocolError, match="beyond a table of 2"):
        ring().pop(memory.mem)


def test_readable_after_writable_in_a_table_is_refused(memory):
    table(memory, (GUEST + DATA + 64, 2, DESC_F_WRITE | DESC_F_NEXT, 1),
          (GUEST + DATA, 8, 0, 0))
    memory.desc(0, GUEST + TABLE, 32, DESC_F_INDIRECT)
    memory.avail(1, 0)
    with pytest.raises(ProtocolError, match="indirect descriptor 1: "
                       "device-readable after a device-writable one"):
        ring().pop(memory.mem)


def test_a_table_of_readables_after_a_writable_ring_descriptor_is_refused(
        memory):
    memory.desc(0, GUEST + DATA + 64, 2, DESC_F_WRITE | DESC_F_NEXT, 1)
    memory.desc(1, GUEST + TABLE, 16, DESC_F_INDIRECT)
    table(memory, (GUEST + DATA, 8, 0, 0))
    memory.avail(1, 0)
    with pytest.raises(ProtocolError, match="device-readable after"):
        ring().pop(memory.mem)


def test_readable_after_writable_in_the_ring_is_refused(memory):
    memory.desc(0, GUEST + DATA + 64, 2, DESC_F_WRITE | DESC_F_NEXT, 1)
    memory.desc(1, GUEST + DATA, 8)
    memory.avail(1, 0)
    with pytest.raises(ProtocolError, match="descriptor 1: device-readable "
                       "after a device-writable one"):
        ring().pop(memory.mem)


def test_the_ring_moves_on_past_a_refused_table(memory):
    """The refused chain is consumed: the next pop reads the next one."""
    memory.desc(0, GUEST + TABLE, 8, DESC_F_INDIRECT)
    memory.desc(1, GUEST + DATA, 2, DESC_F_WRITE)
    memory.avail(2, 0, 1)
    vring = ring()
    with pytest.raises(ProtocolError):
        vring.pop(memory.mem)
    assert vring.pop(memory.mem) == (1, [(GUEST + DATA, 2, True)])


def test_a_chain_naming_more_readable_bytes_than_any_message_is_refused(
        memory):
    """Refused, not copied: the entries of a table (up to 65536) may each
    name the whole of guest memory."""
    table(memory, (GUEST, SIZE, DESC_F_NEXT, 1), (GUEST, SIZE, 0, 0))
    memory.desc(0, GUEST + TABLE, 32, DESC_F_INDIRECT)
    memory.desc(1, GUEST, SIZE)      # all of it once: 65536 bytes
    memory.avail(2, 0, 1)
    guest = guest_ring(memory, ring())
    with pytest.raises(ProtocolError, match="more than 65536 "
                       "device-readable bytes"):
        guest.pop()
    assert guest.pop().readable == bytes(memory.raw[:SIZE])


def test_a_chain_longer_than_the_bound_is_refused(memory):
    """Zero-length parts count too: without a bound, one small table
    named by every avail entry made millions of parts per kick."""
    from virtio_gpio.vhost_user.vring import CHAIN_MAX
    table(memory, *[(GUEST + DATA, 0, DESC_F_WRITE | DESC_F_NEXT, i + 1)
                    for i in range(CHAIN_MAX)] +
          [(GUEST + DATA, 2, DESC_F_WRITE, 0)])
    memory.desc(0, GUEST + TABLE, 16 * (CHAIN_MAX + 1), DESC_F_INDIRECT)
    memory.avail(1, 0)
    with pytest.raises(ProtocolError, match="longer than %d" % CHAIN_MAX):
        ring().pop(memory.mem)


def test_a_chain_at_the_bound_is_served(memory):
    from virtio_gpio.vhost_user.vring import CHAIN_MAX
    table(memory, *[(GUEST + DATA, 0, DESC_F_WRITE | DESC_F_NEXT, i + 1)
                    for i in range(CHAIN_MAX - 1)] +
          [(GUEST + DATA, 2, DESC_F_WRITE, 0)])
    memory.desc(0, GUEST + TABLE, 16 * CHAIN_MAX, DESC_F_INDIRECT)
    memory.avail(1, 0)
    assert len(ring().pop(memory.mem)[1]) == CHAIN_MAX


@pytest.mark.parametrize("num", [0, 32769, 0x10000000])
def test_a_ring_size_past_the_spec_is_refused(num):
    from virtio_gpio.vhost_user.connection import Connection

    class Stub:
        def _vring(self, payload):
            return Vring(0)

    with pytest.raises(ProtocolError, match="a ring of %d entries" % num):
        Connection.on_set_vring_num(Stub(), struct.pack("<II", 0, num), [])
