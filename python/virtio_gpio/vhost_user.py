"""vhost-user device backend serving the device model over a UNIX socket.

The device side of the vhost-user protocol (QEMU docs/interop/
vhost-user.rst): feature and protocol-feature negotiation (REPLY_ACK,
CONFIG), owner, the memory table whose fds are mmap'ed, vring num / addr /
base / kick / call / enable, GET_CONFIG. Split virtqueues are walked in
guest memory; kicks arrive on eventfds, interrupts go out on the call fds.

The device itself is the same transport-independent model the unit tests
use (:class:`virtio_gpio.device.Id30Device`): one model, two transports.
"""

import array
import dataclasses
import enum
import json
import logging
import mmap
import os
import selectors
import socket
import struct
import time
from typing import Dict, List, Optional

from . import protocol
from .device import FORGED_TOKEN, Fault, Outgoing
from .standard_device import StandardDevice

log = logging.getLogger(__name__)

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
F_PROTOCOL_FEATURES = 1 << 30
PF_MQ = 1 << 0
PF_REPLY_ACK = 1 << 3
PF_BACKEND_REQ = 1 << 5
PF_CONFIG = 1 << 9

HEADER = struct.Struct("<III")
VRING_DESC = struct.Struct("<QIHH")
DESC_F_NEXT = 1
DESC_F_WRITE = 2
VRING_INDEX_MASK = 0xFF
VRING_NOFD = 0x100

NUM_QUEUES = 2
MAX_FDS = 8


class ProtocolError(Exception):
    """The front end sent something this backend cannot accept."""


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


class Connection:
    """One front end, from SET_OWNER to hang-up."""

    def __init__(self, backend, sock):
        self.backend = backend
        self.sock = sock
        self.features = 0
        self.protocol_features = 0
        self.mem = GuestMemory()
        self.vrings = [Vring(i) for i in range(NUM_QUEUES)]
        self.backend_req_fd: Optional[int] = None
        standard = isinstance(backend.device, StandardDevice)
        self.queues = (StandardQueues if standard else Id30Queues)(self)

    def close(self):
        self.queues.close()
        for vring in self.vrings:
            vring.close_fds()
        if self.backend_req_fd is not None:
            os.close(self.backend_req_fd)
        self.mem.close()
        self.sock.close()

    # -- messages ------------------------------------------------------------

    def receive(self):
        """Read and handle one message; False when the front end hung up."""
        fds = array.array("i")
        data, ancdata, _, _ = self.sock.recvmsg(
            HEADER.size, socket.CMSG_LEN(MAX_FDS * fds.itemsize))
        if not data:
            return False
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
        if len(data) < HEADER.size:
            data += self._read_exact(HEADER.size - len(data))
        request, flags, size = HEADER.unpack(data)
        payload = self._read_exact(size) if size else b""
        self.handle(request, flags, payload, list(fds))
        return True

    def _read_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ProtocolError("front end hung up mid-message")
            buf += chunk
        return buf

    def reply(self, request, payload):
        self.sock.sendall(HEADER.pack(request, FLAG_VERSION | FLAG_REPLY,
                                      len(payload)) + payload)

    def handle(self, request, flags, payload, fds):
        try:
            name = Request(request).name
        except ValueError:
            name = str(request)
        log.debug("%s flags=%#x size=%d fds=%d", name, flags, len(payload), len(fds))
        handler = getattr(self, "on_%s" % name.lower(), None)
        if handler is None:
            for fd in fds:
                os.close(fd)
            log.warning("unsupported request %s", name)
            status = 1
        else:
            response = handler(payload, fds)
            if response is not None:
                self.reply(request, response)
                return
            status = 0
        if flags & FLAG_NEED_REPLY and self.protocol_features & PF_REPLY_ACK:
            self.reply(request, struct.pack("<Q", status))

    def on_get_features(self, payload, fds):
        device_features = getattr(self.backend.device, "features", 0)
        return struct.pack("<Q", F_VERSION_1 | F_PROTOCOL_FEATURES |
                           device_features)

    def on_set_features(self, payload, fds):
        self.features = struct.unpack("<Q", payload[:8])[0]
        log.info("driver features %#x", self.features)

    def on_get_protocol_features(self, payload, fds):
        # BACKEND_REQ (once SLAVE_REQ): UML's virtio_uml allocates the
        # interrupt its vrings share only when it sets up that channel.
        return struct.pack("<Q", PF_MQ | PF_REPLY_ACK | PF_BACKEND_REQ |
                           PF_CONFIG)

    def on_set_protocol_features(self, payload, fds):
        self.protocol_features = struct.unpack("<Q", payload[:8])[0]

    def on_get_queue_num(self, payload, fds):
        return struct.pack("<Q", NUM_QUEUES)

    def on_set_owner(self, payload, fds):
        log.info("front end took ownership")

    def on_reset_owner(self, payload, fds):
        self.reset_rings()

    def on_set_mem_table(self, payload, fds):
        count = struct.unpack_from("<I", payload)[0]
        if count != len(fds):
            raise ProtocolError("%d regions but %d fds" % (count, len(fds)))
        self.mem.close()
        for i, fd in enumerate(fds):
            guest, size, user, offset = struct.unpack_from("<QQQQ", payload, 8 + 32 * i)
            self.mem.add(guest, size, user, offset, fd)
            os.close(fd)
            log.info("memory region %d: guest %#x size %#x", i, guest, size)

    def _vring(self, payload):
        index = struct.unpack_from("<I", payload)[0] & VRING_INDEX_MASK
        if index >= NUM_QUEUES:
            raise ProtocolError("vring %d does not exist" % index)
        return self.vrings[index]

    def on_set_vring_num(self, payload, fds):
        vring = self._vring(payload)
        vring.num = struct.unpack_from("<I", payload, 4)[0]

    def on_set_vring_base(self, payload, fds):
        vring = self._vring(payload)
        vring.last_avail = vring.used_idx = struct.unpack_from("<I", payload, 4)[0]
        # A ring set up anew holds none of the old chains. UML re-initialises
        # rings after a driver reset without stopping them first.
        self.queues.ring_stopped(vring.index)

    def on_get_vring_base(self, payload, fds):
        vring = self._vring(payload)
        vring.ready = False
        self._release_fds(vring)
        # The front end stops a ring when the driver resets the device:
        # chains it held belong to a driver that is gone.
        self.queues.ring_stopped(vring.index)
        return struct.pack("<II", vring.index, vring.last_avail)

    def on_set_vring_addr(self, payload, fds):
        vring = self._vring(payload)
        _, _, vring.desc, vring.used, vring.avail, _ = struct.unpack_from(
            "<IIQQQQ", payload)
        vring.ready = True
        log.info("vring %d: %d entries", vring.index, vring.num)

    def _vring_fd(self, payload, fds, attr):
        vring = self._vring(payload)
        value = struct.unpack_from("<Q", payload)[0]
        old = getattr(vring, attr)
        if old is not None:
            if attr == "kick_fd":
                self.backend.unwatch(old)
            os.close(old)
        fd = None if value & VRING_NOFD or not fds else fds[0]
        setattr(vring, attr, fd)
        if fd is not None and attr == "kick_fd":
            self.backend.watch_kick(fd, self, vring)

    def on_set_vring_kick(self, payload, fds):
        self._vring_fd(payload, fds, "kick_fd")

    def on_set_vring_call(self, payload, fds):
        self._vring_fd(payload, fds, "call_fd")

    def on_set_vring_err(self, payload, fds):
        for fd in fds:
            os.close(fd)

    def on_set_vring_enable(self, payload, fds):
        vring = self._vring(payload)
        vring.enabled = bool(struct.unpack_from("<I", payload, 4)[0])
        log.info("vring %d %s", vring.index, "enabled" if vring.enabled else "disabled")
        if vring.enabled:
            self.process()

    def on_set_backend_req_fd(self, payload, fds):
        # Kept open (the front end watches it) though nothing is sent on it.
        if self.backend_req_fd is not None:
            os.close(self.backend_req_fd)
        self.backend_req_fd = fds[0] if fds else None

    def on_get_config(self, payload, fds):
        offset, size, flags = struct.unpack_from("<III", payload)
        space = self.backend.device.config_space()
        data = space[offset:offset + size].ljust(size, b"\0")
        return struct.pack("<III", offset, size, flags) + data

    def on_set_config(self, payload, fds):
        log.warning("SET_CONFIG ignored: the config space is read-only")

    def _release_fds(self, vring):
        # Unwatched before closing: the number comes back with the next
        # SET_VRING_KICK, and the selector would still hold the old one.
        if vring.kick_fd is not None:
            self.backend.unwatch(vring.kick_fd)
        vring.close_fds()

    def reset_rings(self):
        for vring in self.vrings:
            self._release_fds(vring)
        self.vrings = [Vring(i) for i in range(NUM_QUEUES)]

    def process(self):
        """Let the device work through what the driver queued."""
        self.queues.process()


def _readable(mem, parts):
    return b"".join(mem.read(addr, length) for addr, length, w in parts if not w)


class Id30Queues:
    """The 2020 protocol: queue 0 device->driver messages, queue 1 requests."""

    def __init__(self, conn):
        self.conn = conn
        self.pending: List = []

    def close(self):
        self.pending = []

    def ring_stopped(self, index):
        if index == protocol.VQ_RX:
            self.pending = []

    def process(self):
        """Answer every queued request and deliver what is pending."""
        conn = self.conn
        tx = conn.vrings[protocol.VQ_TX]
        requests = []
        while True:
            chain = tx.pop(conn.mem)
            if chain is None:
                break
            head, parts = chain
            requests.append(_readable(conn.mem, parts))
            tx.push(conn.mem, head, 0)
        if requests:
            tx.interrupt()
            self.pending += conn.backend.device.process(requests)
        self.deliver()

    def input_changed(self, messages):
        self.deliver(messages)

    def deliver(self, messages=()):
        conn = self.conn
        self.pending += list(messages)
        rx = conn.vrings[protocol.VQ_RX]
        sent = 0
        while self.pending:
            chain = rx.pop(conn.mem)
            if chain is None:
                break
            head, parts = chain
            out = self.pending.pop(0)
            addr, length, writable = parts[0]
            if not writable:
                raise ProtocolError("receive buffer is not device-writable")
            conn.mem.write(addr, out.payload[:length])
            rx.push(conn.mem, head, out.used_len)
            sent += 1
        if sent:
            rx.interrupt()


class StandardQueues:
    """virtio 1.2 GPIO: queue 0 requestq, queue 1 eventq (request chains)."""

    REQUESTQ, EVENTQ = 0, 1

    def __init__(self, conn):
        self.conn = conn

    def close(self):
        # Chains of a departed front end can never be returned.
        for index in (self.REQUESTQ, self.EVENTQ):
            self.ring_stopped(index)

    def ring_stopped(self, index):
        device = self.conn.backend.device
        if index == self.EVENTQ:
            device.forget_irq_buffers()
        elif index == self.REQUESTQ:
            device.delayed = []

    def _scatter(self, parts, payload):
        done = 0
        for addr, length, writable in parts:
            if writable and done < len(payload):
                chunk = payload[done:done + length]
                self.conn.mem.write(addr, chunk)
                done += len(chunk)

    def process(self):
        conn, device = self.conn, self.conn.backend.device
        requestq = conn.vrings[self.REQUESTQ]
        answered = False
        chains = []
        while True:
            chain = requestq.pop(conn.mem)
            if chain is None:
                break
            chains.append(chain)
        # A delayed reply goes out late: when the next requests come in.
        replies = device.release_delayed() if chains else []
        for chain in chains:
            if conn.backend.noop:
                # The floor: answer at once, no model, "OK, value 0".
                replies.append(Outgoing(bytes(2), 2, chain))
                continue
            capacity = sum(length for _, length, w in chain[1] if w)
            reply = device.handle(_readable(conn.mem, chain[1]), capacity,
                                  chain)
            if reply is None:
                continue  # dropped for good, or delayed (the model keeps it)
            replies.append(reply)
        for reply in replies:
            head, parts = reply.token
            self._scatter(parts, reply.payload)
            requestq.push(conn.mem, head, reply.used_len)
            answered = True
        if answered:
            requestq.interrupt()
        eventq = conn.vrings[self.EVENTQ]
        while True:
            chain = eventq.pop(conn.mem)
            if chain is None:
                break
            device.queue_irq(_readable(conn.mem, chain[1]), chain)
        self.complete_irqs()

    def input_changed(self, _):
        self.complete_irqs()

    def _unheld_head(self, eventq):
        """A descriptor index that heads no chain the device holds: to the
        driver, a buffer it never made available."""
        held = {token[0] for token in
                self.conn.backend.device.held_irq_lines().values()}
        return min(set(range(eventq.num)) - held)

    def complete_irqs(self):
        conn = self.conn
        eventq = conn.vrings[self.EVENTQ]
        done = conn.backend.device.take_irq_completions()
        for completion in done:
            if completion.token is FORGED_TOKEN:
                eventq.push(conn.mem, self._unheld_head(eventq), 1)
                continue
            head, parts = completion.token
            self._scatter(parts, completion.payload)
            eventq.push(conn.mem, head, completion.used_len)
        if done:
            eventq.interrupt()


class Backend:
    """Listens on ``socket_path`` and serves ``device`` to one front end at a time."""

    def __init__(self, device, socket_path, control_path=None, once=False):
        self.device = device
        self.socket_path = socket_path
        self.control_path = control_path
        self.once = once
        self.selector = selectors.DefaultSelector()
        self.conn: Optional[Connection] = None
        self.running = True
        self.toggles: Dict[int, float] = {}
        self.script: List = []
        self.connections = 0
        #: standard protocol: answer requests without the model (bench floor)
        self.noop = False

    def watch_kick(self, fd, conn, vring):
        os.set_blocking(fd, False)
        self.selector.register(fd, selectors.EVENT_READ, ("kick", conn, vring))

    def unwatch(self, fd):
        try:
            self.selector.unregister(fd)
        except (KeyError, ValueError):
            pass

    def _listen(self, path):
        # Bound and listening under a temporary name, then renamed: once
        # the path exists, connecting to it works (no ECONNREFUSED race).
        tmp = "%s.%d.tmp" % (path, os.getpid())
        if os.path.exists(tmp):
            os.unlink(tmp)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(tmp)
        server.listen(4)
        os.replace(tmp, path)
        return server

    def set_input(self, line, level):
        """Drive an input line; its event goes to the driver at once."""
        before = self.device.lines[line].value
        out = self.device.set_input(line, level)
        self.toggles[line] = time.time()
        if self.conn is not None:
            self.conn.queues.input_changed(out)
        return before != level

    def state(self):
        return {"lines": [{"name": l.name, "direction": int(l.direction),
                           "value": l.value,
                           "requested": getattr(l, "requested", None)}
                          for l in self.device.lines],
                "requests": self.device.requests_seen,
                "connected": self.conn is not None,
                "connections": self.connections,
                "toggles": {str(k): v for k, v in self.toggles.items()}}

    def control(self, command):
        """One JSON command from the control socket; returns the answer."""
        cmd = command.get("cmd")
        if cmd == "set_input":
            changed = self.set_input(int(command["line"]), int(command["level"]))
            return {"ok": changed, "time": self.toggles[int(command["line"])]}
        if cmd == "state":
            return self.state()
        if cmd == "inject":
            self.device.inject(Fault(command["fault"]), int(command.get("count", 1)))
            if self.conn is not None:
                # Faults that need no reply to ride on go out now.
                self.conn.queues.input_changed(())
            return {"ok": True}
        if cmd == "stop":
            self.running = False
            return {"ok": True}
        if cmd == "noop":
            self.noop = bool(command.get("on", True))
            return {"ok": True}
        return {"error": "unknown command %r" % cmd}

    def _on_control(self, server):
        client, _ = server.accept()
        with client:
            client.settimeout(5.0)
            data = _read_line(client)
            try:
                answer = self.control(json.loads(data))
            except (ValueError, KeyError, IndexError) as exc:
                answer = {"error": str(exc)}
            client.sendall(json.dumps(answer).encode() + b"\n")

    def serve(self):
        """Run until stopped, or until the front end leaves with ``once``."""
        server = self._listen(self.socket_path)
        self.selector.register(server, selectors.EVENT_READ, ("accept",))
        control = None
        if self.control_path:
            control = self._listen(self.control_path)
            self.selector.register(control, selectors.EVENT_READ, ("control",))
        log.info("listening on %s", self.socket_path)
        start = time.monotonic()
        try:
            while self.running:
                timeout = None
                if self.script:
                    timeout = max(0.0, self.script[0][0] - (time.monotonic() - start))
                for key, _ in self.selector.select(timeout):
                    self._dispatch(key, server, control)
                while self.script and self.script[0][0] <= time.monotonic() - start:
                    _, line, level = self.script.pop(0)
                    log.info("script: line %d -> %d", line, level)
                    self.set_input(line, level)
        finally:
            self._drop()
            self.selector.close()
            server.close()
            os.unlink(self.socket_path)
            if control is not None:
                control.close()
                os.unlink(self.control_path)
        log.info("stopped")

    def _dispatch(self, key, server, control):
        kind = key.data[0]
        if kind == "accept":
            sock, _ = server.accept()
            if self.conn is not None:
                log.warning("second front end refused")
                sock.close()
                return
            self.connections += 1
            log.info("front end connected (%d)", self.connections)
            self.conn = Connection(self, sock)
            self.selector.register(sock, selectors.EVENT_READ, ("conn",))
        elif kind == "control":
            self._on_control(control)
        elif kind == "conn":
            try:
                alive = self.conn.receive()
            except (ProtocolError, OSError, struct.error) as exc:
                log.error("front end error: %s", exc)
                alive = False
            if not alive:
                log.info("front end went away")
                self._drop()
                if self.once:
                    self.running = False
        elif kind == "kick":
            _, conn, vring = key.data
            try:
                os.read(key.fd, 8)
            except BlockingIOError:
                return
            try:
                conn.process()
            except ProtocolError as exc:
                log.error("ring error: %s", exc)

    def _drop(self):
        if self.conn is None:
            return
        for vring in self.conn.vrings:
            if vring.kick_fd is not None:
                self.unwatch(vring.kick_fd)
        self.unwatch(self.conn.sock)
        self.conn.close()
        self.conn = None

    def stop(self, *_):
        self.running = False


def send_control(path, command, timeout=10.0):
    """Send one command to a backend's control socket; returns its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(json.dumps(command).encode() + b"\n")
        return json.loads(_read_line(sock))


def _read_line(sock):
    """Bytes up to and including the first newline (or EOF)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data
