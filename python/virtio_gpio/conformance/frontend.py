"""A vhost-user front end: the guest's side of a vhost-user device.

It plays what QEMU or UML plays for a backend: guest memory shared as a
memfd (SET_MEM_TABLE), split virtqueues laid out in it with a kick and a
call eventfd each, feature and protocol-feature negotiation (REPLY_ACK,
CONFIG, MQ), GET_CONFIG, descriptor chains made available, directly in
the ring or through an indirect table, and their used elements read
back.

Every wait is bounded. A backend that says nothing raises
:class:`BackendTimeout`, one that hangs up :class:`BackendHungUp`; a
caller checking a backend turns either into a failed requirement, never
into a hang.

Standard library only, like the rest of the device side: it runs where
the compiled driver core is not installed.
"""

import collections
import dataclasses
import mmap
import os
import select
import socket
import struct
import time
from typing import Deque, Dict, List, Optional, Tuple

from ..vhost_user.protocol import (F_PROTOCOL_FEATURES, F_VERSION_1,
                                   FLAG_NEED_REPLY, FLAG_REPLY, FLAG_VERSION,
                                   HEADER, PF_CONFIG, PF_REPLY_ACK, Request)
from ..vhost_user.vring import (DESC_F_INDIRECT, DESC_F_NEXT, DESC_F_WRITE,
                                VRING_DESC)

#: guest-physical address of the one memory region; the front end's own
#: ("user") addresses are the same numbers
BASE = 0x100000
#: the region's size: rings, a small buffer per descriptor, and room for
#: large buffers (a line-names block)
MEM_SIZE = 2 << 20
#: queue size used unless asked otherwise
NUM = 64
#: the largest queue size the layout has room for
MAX_NUM = 256
#: each queue's desc, avail and used rings start at these offsets
_RING_STRIDE = 0x4000
_AVAIL, _USED = 0x1000, 0x2000
#: every descriptor owns a buffer of this size...
SLOT = 64
_SLOTS = 2 * _RING_STRIDE
#: ...and larger buffers come from here on
_BIG = _SLOTS + 2 * MAX_NUM * SLOT
#: how long a wait lasts unless the caller says
TIMEOUT = 5.0
#: what a device-writable buffer holds before the device writes it, so
#: that bytes it never wrote show as such
UNWRITTEN = 0xA5

U64 = struct.Struct("<Q")


class FrontEndError(Exception):
    """The backend did not answer as the vhost-user protocol requires."""


class BackendTimeout(FrontEndError):
    """The backend said nothing within the time allowed."""


class BackendHungUp(FrontEndError):
    """The backend closed the connection."""


@dataclasses.dataclass
class Chain:
    """One descriptor chain made available to the device."""

    queue: int
    head: int
    descriptors: List[int]
    #: the device-readable bytes
    out: bytes
    #: offset in guest memory of the device-writable part, and its size
    in_addr: int
    in_len: int
    #: the call-eventfd wake-ups counted on the queue when it was posted
    calls_at_post: int = 0
    #: the length the device claimed in the used ring, once returned
    used_len: Optional[int] = None
    #: whether the device signalled the call eventfd after returning it
    notified: bool = False
    #: the caller gave up waiting for it
    abandoned: bool = False
    #: what the caller calls it, for messages
    label: str = ""
    #: its place among the chains the queue returned (0 for the first)
    order: Optional[int] = None
    #: offset in guest memory of its indirect table, None for a direct
    #: chain (the table and the buffers it refers to are one block)
    table: Optional[int] = None

    @property
    def returned(self):
        return self.used_len is not None


@dataclasses.dataclass
class Vring:
    """A split virtqueue in guest memory, kept by the front end."""

    index: int
    num: int
    #: offsets in guest memory
    desc: int
    avail: int
    used: int
    free: Deque[int] = dataclasses.field(default_factory=collections.deque)
    avail_idx: int = 0
    used_seen: int = 0
    #: chains the device holds, by head
    outstanding: Dict[int, Chain] = dataclasses.field(default_factory=dict)
    #: large buffers in use: offset -> size
    big: Dict[int, int] = dataclasses.field(default_factory=dict)
    #: call eventfd wake-ups read so far
    calls: int = 0
    #: chains returned so far
    returned: int = 0


class FrontEnd:
    """Guest memory, split virtqueues and the vhost-user conversation.

    :param sock: a connected UNIX stream socket to the backend
    :param timeout: the bound of every wait for the backend, in seconds
    :param mem_size: bytes of guest memory
    """

    def __init__(self, sock, timeout=None, mem_size=MEM_SIZE):
        self.sock = sock
        if timeout is None:
            timeout = sock.gettimeout() or TIMEOUT
        self.timeout = timeout
        sock.settimeout(timeout)
        self.mem_size = mem_size
        self.fd = os.memfd_create("vhost-user-guest")
        os.ftruncate(self.fd, mem_size)
        self.mem = mmap.mmap(self.fd, mem_size)
        self.vrings: Dict[int, Vring] = {}
        #: queue index -> kick eventfd / call eventfd (read end)
        self.kick: Dict[int, int] = {}
        self.call: Dict[int, int] = {}
        #: what the backend offered and what was negotiated
        self.device_features = 0
        self.features = 0
        self.backend_protocol_features = 0
        self.protocol_features = 0
        #: used elements naming no chain the device held: (queue, head, len)
        self.unexpected: List[Tuple[int, int, int]] = []
        #: chains that came back after the caller gave up on them
        self.late: List[Chain] = []

    @classmethod
    def connect(cls, path, timeout=TIMEOUT, mem_size=MEM_SIZE):
        """A front end connected to the backend listening on ``path``.
        Raises OSError when nothing accepts there."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except BaseException:
            sock.close()
            raise
        return cls(sock, timeout=timeout, mem_size=mem_size)

    def close(self):
        self.sock.close()
        for fd in list(self.kick.values()) + list(self.call.values()):
            try:
                os.close(fd)
            except OSError:
                pass
        self.kick, self.call = {}, {}
        self.mem.close()
        os.close(self.fd)

    # -- messages ----------------------------------------------------------

    def send(self, request, payload=b"", fds=(), need_reply=False):
        """Send one message; ``need_reply`` asks for a REPLY_ACK."""
        flags = FLAG_VERSION | (FLAG_NEED_REPLY if need_reply else 0)
        msg = HEADER.pack(request, flags, len(payload)) + payload
        anc = ([(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                 struct.pack("%di" % len(fds), *fds))] if fds else [])
        try:
            self.sock.sendmsg([msg], anc)
        except socket.timeout:
            raise BackendTimeout("%s: the backend took no message within "
                                 "%g s" % (_name(request), self.timeout)) \
                from None
        except OSError as exc:
            raise BackendHungUp("%s: the backend hung up (%s)" % (
                _name(request), exc.strerror or exc)) from None

    def _read(self, n, what):
        data = b""
        while len(data) < n:
            try:
                chunk = self.sock.recv(n - len(data))
            except socket.timeout:
                raise BackendTimeout("%s: no reply within %g s"
                                     % (what, self.timeout)) from None
            except OSError as exc:
                raise BackendHungUp("%s: the backend hung up (%s)" % (
                    what, exc.strerror or exc)) from None
            if not chunk:
                raise BackendHungUp("%s: the backend hung up" % what)
            data += chunk
        return data

    def recv(self, request=None):
        """The payload of the backend's next reply; with ``request``, it
        must answer that request."""
        what = _name(request) if request is not None else "reply"
        code, flags, size = HEADER.unpack(self._read(HEADER.size, what))
        payload = self._read(size, what) if size else b""
        if not flags & FLAG_REPLY:
            raise FrontEndError("%s: the backend sent %s without the reply "
                                "flag" % (what, _name(code)))
        if request is not None and code != request:
            raise FrontEndError("%s: the reply is to %s"
                                % (what, _name(code)))
        return payload

    def ask(self, request, payload=b""):
        """Send a request that has a reply; its payload."""
        self.send(request, payload)
        return self.recv(request)

    def _u64(self, request, payload=b""):
        reply = self.ask(request, payload)
        if len(reply) != U64.size:
            raise FrontEndError("%s: a %d-byte reply, not 8 (%s)"
                                % (_name(request), len(reply), reply.hex()))
        return U64.unpack(reply)[0]

    def acked(self, request, payload=b"", fds=()):
        """Send a request that has no reply of its own. With REPLY_ACK
        negotiated the backend acknowledges it: its status (0 is
        success); None without REPLY_ACK."""
        ack = bool(self.protocol_features & PF_REPLY_ACK)
        self.send(request, payload, fds, need_reply=ack)
        return self._u64_reply(request) if ack else None

    def _u64_reply(self, request):
        reply = self.recv(request)
        if len(reply) != U64.size:
            raise FrontEndError("%s: a %d-byte acknowledgement, not 8 (%s)"
                                % (_name(request), len(reply), reply.hex()))
        return U64.unpack(reply)[0]

    # -- negotiation -------------------------------------------------------

    def get_features(self):
        self.device_features = self._u64(Request.GET_FEATURES)
        return self.device_features

    def get_protocol_features(self):
        self.backend_protocol_features = self._u64(
            Request.GET_PROTOCOL_FEATURES)
        return self.backend_protocol_features

    def set_protocol_features(self, features):
        # No acknowledgement: REPLY_ACK is not in force until this is done.
        self.send(Request.SET_PROTOCOL_FEATURES, U64.pack(features))
        self.protocol_features = features

    def get_queue_num(self):
        return self._u64(Request.GET_QUEUE_NUM)

    def set_features(self, features):
        self.features = features
        return self.acked(Request.SET_FEATURES, U64.pack(features))

    def get_config(self, size, offset=0):
        """GET_CONFIG: (offset, size, flags, data) as the backend answers."""
        reply = self.ask(Request.GET_CONFIG,
                         struct.pack("<III", offset, size, 0) + bytes(size))
        if len(reply) < 12:
            raise FrontEndError("GET_CONFIG: a %d-byte reply (%s)"
                                % (len(reply), reply.hex()))
        got_offset, got_size, flags = struct.unpack_from("<III", reply)
        return got_offset, got_size, flags, reply[12:]

    def set_mem_table(self):
        region = struct.pack("<QQQQ", BASE, self.mem_size, BASE, 0)
        return self.acked(Request.SET_MEM_TABLE,
                          struct.pack("<II", 1, 0) + region, fds=[self.fd])

    def setup_vring(self, index, num=NUM):
        """Lay out queue ``index`` and hand it to the backend, enabled:
        the statuses of the acknowledged steps (None without REPLY_ACK)."""
        if not 0 < num <= MAX_NUM or index > 1:
            raise ValueError("queue %d of %d entries does not fit the layout"
                             % (index, num))
        base = index * _RING_STRIDE
        self.mem[base:base + _RING_STRIDE] = bytes(_RING_STRIDE)
        vring = Vring(index, num, base, base + _AVAIL, base + _USED,
                      free=collections.deque(range(num)))
        self.vrings[index] = vring
        acks = [self.acked(Request.SET_VRING_NUM,
                           struct.pack("<II", index, num)),
                self.acked(Request.SET_VRING_BASE,
                           struct.pack("<II", index, 0)),
                self.acked(Request.SET_VRING_ADDR, struct.pack(
                    "<IIQQQQ", index, 0, BASE + vring.desc, BASE + vring.used,
                    BASE + vring.avail, 0))]
        # The call eventfd first: nothing the backend signals is missed.
        for fds, request in ((self.call, Request.SET_VRING_CALL),
                             (self.kick, Request.SET_VRING_KICK)):
            if index in fds:
                os.close(fds[index])
            fds[index] = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            acks.append(self.acked(request, U64.pack(index),
                                   fds=[fds[index]]))
        acks.append(self.acked(Request.SET_VRING_ENABLE,
                               struct.pack("<II", index, 1)))
        return acks

    def handshake(self, features=F_VERSION_1,
                  protocol_features=PF_REPLY_ACK | PF_CONFIG,
                  queues=(0, 1), num=NUM):
        """The whole setup, as a guest's front end does it: owner,
        features, protocol features (those of ``protocol_features`` the
        backend offers), memory, the rings. Raises FrontEndError when the
        backend refuses a step or lacks what this needs."""
        self.send(Request.SET_OWNER)
        offered = self.get_features()
        if not offered & F_PROTOCOL_FEATURES or not offered & F_VERSION_1:
            raise FrontEndError("GET_FEATURES %#x lacks VERSION_1 or "
                                "PROTOCOL_FEATURES" % offered)
        self.set_protocol_features(self.get_protocol_features()
                                   & protocol_features)
        acks = [self.set_features(features), self.set_mem_table()]
        for index in queues:
            acks += self.setup_vring(index, num)
        refused = [a for a in acks if a not in (None, 0)]
        if refused:
            raise FrontEndError("the backend refused a setup step: "
                                "status %#x" % refused[0])

    # -- virtqueues ----------------------------------------------------------

    def _buffer(self, vring, descriptor, size):
        if size <= SLOT:
            return _SLOTS + (vring.index * MAX_NUM + descriptor) * SLOT
        return self._block(vring, size)

    def _block(self, vring, size):
        """``size`` bytes of the large buffers' room, kept in
        ``vring.big`` until the chain using them comes back. The room is
        shared by the queues: a block is placed clear of every queue's."""
        start = _BIG
        taken = (block for ring in self.vrings.values()
                 for block in ring.big.items())
        for addr, length in sorted(taken):
            if addr - start >= size:
                break
            start = max(start, addr + length)
        if start + size > self.mem_size:
            raise FrontEndError("no room for a %d-byte buffer in %d bytes of "
                                "guest memory" % (size, self.mem_size))
        vring.big[start] = size
        return start

    def _descriptors(self, vring, count):
        if len(vring.free) < count:
            raise FrontEndError("queue %d: %d descriptors free, %d needed "
                                "(the device holds the rest)"
                                % (vring.index, len(vring.free), count))
        return [vring.free.popleft() for _ in range(count)]

    def post_chain(self, index, out_data, in_len, fill=UNWRITTEN,
                   indirect=False, in_ring=0):
        """Make a chain available on queue ``index``: ``out_data`` for the
        device to read, then ``in_len`` bytes for it to write (filled with
        ``fill`` first). With ``indirect`` the parts after the first
        ``in_ring`` go into a table which the chain's last ring
        descriptor refers to (VIRTQ_DESC_F_INDIRECT: "zero or more normal
        chained descriptors followed by a single descriptor" with it; the
        backend must have offered VIRTIO_RING_F_INDIRECT_DESC).
        Returns the :class:`Chain`."""
        self.collect(index)
        # Wake-ups already signalled belong to chains returned before this
        # one: counted now, they cannot pass for this chain's.
        self._drain_calls(index)
        vring = self.vrings[index]
        parts = [p for p in ((out_data, False), (in_len, True)) if p[0]]
        if indirect:
            if not 0 <= in_ring < len(parts):
                raise ValueError("%d of %d parts in the ring leave none for "
                                 "a table" % (in_ring, len(parts)))
            descriptors = self._descriptors(vring, in_ring + 1)
            in_addr = self._direct(vring, descriptors[:in_ring],
                                   parts[:in_ring], fill,
                                   then=descriptors[in_ring])
            table, in_table = self._table(vring, parts[in_ring:], fill)
            if in_table is not None:
                in_addr = in_table
            self._write_desc(vring.desc, descriptors[in_ring], BASE + table,
                             VRING_DESC.size * (len(parts) - in_ring),
                             DESC_F_INDIRECT, 0)
        else:
            descriptors = self._descriptors(vring, len(parts))
            table, in_addr = None, self._direct(vring, descriptors, parts,
                                                fill)
        chain = Chain(index, descriptors[0], descriptors, bytes(out_data),
                      in_addr if in_addr is not None else 0, in_len,
                      calls_at_post=vring.calls, table=table)
        vring.outstanding[chain.head] = chain
        slot = vring.avail_idx % vring.num
        struct.pack_into("<H", self.mem, vring.avail + 4 + 2 * slot,
                         chain.head)
        vring.avail_idx = (vring.avail_idx + 1) & 0xFFFF
        struct.pack_into("<H", self.mem, vring.avail + 2, vring.avail_idx)
        return chain

    def _write_desc(self, table, n, addr, size, flags, nxt):
        self.mem[table + VRING_DESC.size * n:
                 table + VRING_DESC.size * (n + 1)] = VRING_DESC.pack(
            addr, size, flags, nxt)

    def _fill(self, addr, part, writable, fill):
        size = part if writable else len(part)
        self.mem[addr:addr + size] = bytes([fill]) * size if writable \
            else part
        return size

    def _direct(self, vring, descriptors, parts, fill, then=None):
        """``parts`` in the ring's ``descriptors``, each with its own
        buffer, the last chained to descriptor ``then`` if given; the
        offset of the writable one (None without)."""
        in_addr = None
        for n, (descriptor, (part, writable)) in enumerate(
                zip(descriptors, parts)):
            addr = self._buffer(vring, descriptor,
                                part if writable else len(part))
            size = self._fill(addr, part, writable, fill)
            if writable:
                in_addr = addr
            nxt = descriptors[n + 1] if n + 1 < len(parts) else then
            flags = ((DESC_F_WRITE if writable else 0) |
                     (0 if nxt is None else DESC_F_NEXT))
            self._write_desc(vring.desc, descriptor, BASE + addr, size, flags,
                             nxt or 0)
        return in_addr

    def _table(self, vring, parts, fill):
        """``parts`` in an indirect table, the table and their buffers one
        block: (the table's offset, the writable buffer's or None)."""
        sizes = [part if writable else len(part) for part, writable in parts]
        table = self._block(vring, VRING_DESC.size * len(parts) + sum(sizes))
        addr, in_addr = table + VRING_DESC.size * len(parts), None
        for n, (part, writable) in enumerate(parts):
            size = self._fill(addr, part, writable, fill)
            if writable:
                in_addr = addr
            last = n == len(parts) - 1
            flags = ((DESC_F_WRITE if writable else 0) |
                     (0 if last else DESC_F_NEXT))
            self._write_desc(table, n, BASE + addr, size, flags,
                             0 if last else n + 1)
            addr += size
        return table, in_addr

    def notify(self, index):
        """Kick queue ``index``."""
        os.write(self.kick[index], U64.pack(1))

    def response(self, chain):
        """The bytes the device claims to have written into ``chain``."""
        size = min(chain.used_len or 0, chain.in_len)
        return bytes(self.mem[chain.in_addr:chain.in_addr + size])

    def collect(self, index):
        """Read queue ``index``'s new used elements, in order:
        [(head, len, the Chain or None)]. A returned chain's descriptors
        are free again; an element naming no chain the device held is
        also kept in :attr:`unexpected`. The call eventfd is left alone."""
        vring = self.vrings[index]
        idx = struct.unpack_from("<H", self.mem, vring.used + 2)[0]
        out = []
        while vring.used_seen != idx:
            slot = vring.used_seen % vring.num
            head, length = struct.unpack_from(
                "<II", self.mem, vring.used + 4 + 8 * slot)
            vring.used_seen = (vring.used_seen + 1) & 0xFFFF
            chain = vring.outstanding.pop(head, None)
            if chain is None:
                self.unexpected.append((index, head, length))
            else:
                chain.used_len = length
                chain.order = vring.returned
                vring.returned += 1
                vring.free.extend(chain.descriptors)
                vring.big.pop(chain.in_addr if chain.table is None
                              else chain.table, None)
                if chain.abandoned:
                    self.late.append(chain)
            out.append((head, length, chain))
        return out

    def _drain_calls(self, index):
        try:
            while os.read(self.call[index], 64):
                self.vrings[index].calls += 1
        except (BlockingIOError, KeyError):
            pass

    def _wait_call(self, index, timeout):
        """Sleep until queue ``index``'s call eventfd is signalled (the
        wake-ups are counted) or ``timeout`` passes; raises BackendHungUp
        when the backend closes the connection meanwhile."""
        deadline = time.monotonic() + timeout
        poller = select.poll()
        poller.register(self.call[index], select.POLLIN)
        poller.register(self.sock, select.POLLIN | select.POLLHUP)
        while True:
            left = deadline - time.monotonic()
            ready = dict(poller.poll(max(0.0, left) * 1000))
            if not ready:
                return
            if self.call[index] in ready:
                self._drain_calls(index)
                return
            try:
                data = self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                raise BackendHungUp("the backend hung up")
            # Something unasked on the socket is not this wait's business,
            # and watching it again would spin.
            poller.unregister(self.sock)

    def wait(self, chain, timeout=None):
        """Wait until the device returns ``chain``, at most ``timeout``
        seconds; whether it did. If it came back before the call eventfd
        was signalled, the signal is waited for as long again (it
        decides :attr:`Chain.notified`)."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            self.collect(chain.queue)
            if chain.returned:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._wait_call(chain.queue, left)
        vring = self.vrings[chain.queue]
        self._drain_calls(chain.queue)
        if vring.calls == chain.calls_at_post:
            self._wait_call(chain.queue, timeout)
        chain.notified = vring.calls > chain.calls_at_post
        return True

    def wait_used(self, index, count, timeout=None):
        """The next ``count`` used elements of queue ``index`` as (head,
        len); raises BackendTimeout when they do not come in time."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        got = []
        while True:
            got += [(head, length) for head, length, _ in self.collect(index)]
            if len(got) >= count:
                return got
            left = deadline - time.monotonic()
            if left <= 0:
                raise BackendTimeout("queue %d: %d of %d used elements within "
                                     "%g s" % (index, len(got), count,
                                               timeout))
            self._wait_call(index, left)


def _name(request):
    try:
        return Request(request).name
    except ValueError:
        return "request %d" % request
