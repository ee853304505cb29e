"""One front end's session: its messages, from SET_OWNER to hang-up."""

import array
import logging
import os
import socket
import struct
from typing import Optional

from ..devices.loops import loop_for
from ..wire import standard as std_wire
from .memory import GuestMemory
from .protocol import (F_INDIRECT_DESC, F_PROTOCOL_FEATURES, F_VERSION_1,
                       FLAG_NEED_REPLY,
                       FLAG_REPLY, FLAG_VERSION, HEADER, MAX_FDS, MAX_PAYLOAD,
                       NUM_QUEUES,
                       PF_BACKEND_REQ, PF_CONFIG, PF_MQ, PF_REPLY_ACK,
                       VRING_INDEX_MASK, VRING_NOFD, ProtocolError, Request)
from .rings import GuestRing
from .vring import RING_MAX, Vring

log = logging.getLogger(__name__)


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
        #: messages received: a "front end" that hangs up before its first
        #: one was a probe (another backend checking the socket is live)
        self.messages = 0
        #: the device loop, holding the device the backend serves now
        self.loop = loop_for(backend.serving, {
            index: GuestRing(self, index) for index in range(NUM_QUEUES)})

    def close(self):
        self.loop.close()
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
        # A handler takes the fds it keeps (pop); the rest are closed, so
        # fds sent along with any message never pile up.
        fds = list(fds)
        try:
            if len(data) < HEADER.size:
                data += self._read_exact(HEADER.size - len(data))
            request, flags, size = HEADER.unpack(data)
            if size > MAX_PAYLOAD:
                raise ProtocolError("a %d-byte payload: no message of this "
                                    "device has more than %d"
                                    % (size, MAX_PAYLOAD))
            payload = self._read_exact(size) if size else b""
            self.messages += 1
            self.handle(request, flags, payload, fds)
        finally:
            _close_unclaimed(fds)
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
            log.warning("unsupported request %s", name)
            response, status = None, 1
        else:
            response, status = handler(payload, fds), 0
        # Before the reply: a front end that has its answer may count on
        # the backend holding none of the fds it did not keep.
        _close_unclaimed(fds)
        if response is not None:
            self.reply(request, response)
            return
        if flags & FLAG_NEED_REPLY and self.protocol_features & PF_REPLY_ACK:
            self.reply(request, struct.pack("<Q", status))

    def on_get_features(self, payload, fds):
        device = self.backend.device
        # Indirect tables let a standard device's eventq hold one chain per
        # ring entry, so a ring of 256 arms 256 lines, as Linux's driver
        # does with them. The 2020 protocol's drivers post single buffers.
        ring_features = F_INDIRECT_DESC \
            if device.device_id == std_wire.DEVICE_ID else 0
        version = 0 if device.legacy else F_VERSION_1
        return struct.pack("<Q", version | F_PROTOCOL_FEATURES |
                           ring_features | device.features)

    def on_set_features(self, payload, fds):
        self.features = struct.unpack("<Q", payload[:8])[0]
        log.info("driver features %#x", self.features)
        for vring in self.vrings:
            self._start_state(vring)

    def _start_state(self, vring):
        """Without VHOST_USER_F_PROTOCOL_FEATURES negotiated a ring starts
        enabled and no SET_VRING_ENABLE comes (vhost-user.rst, "Ring
        states"). UML's virtio_uml drops the bit when the driver's
        validate() changes the features (a second SET_FEATURES, after
        the virtio core has cleared bit 30 as a transport bit it does
        not know), as ours does in clearing INDIRECT_DESC."""
        if not self.features & F_PROTOCOL_FEATURES:
            vring.enabled = True

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
        for i in range(count):
            guest, size, user, offset = struct.unpack_from("<QQQQ", payload, 8 + 32 * i)
            fd = fds.pop(0)
            try:
                self.mem.add(guest, size, user, offset, fd)
            finally:
                os.close(fd)
            log.info("memory region %d: guest %#x size %#x", i, guest, size)

    def _vring(self, payload):
        index = struct.unpack_from("<I", payload)[0] & VRING_INDEX_MASK
        if index >= NUM_QUEUES:
            raise ProtocolError("vring %d does not exist" % index)
        return self.vrings[index]

    def on_set_vring_num(self, payload, fds):
        vring = self._vring(payload)
        num = struct.unpack_from("<I", payload, 4)[0]
        if not 1 <= num <= RING_MAX:
            raise ProtocolError("queue %d: a ring of %d entries (1..%d)"
                                % (vring.index, num, RING_MAX))
        vring.num = num

    def on_set_vring_base(self, payload, fds):
        vring = self._vring(payload)
        vring.last_avail = vring.used_idx = struct.unpack_from("<I", payload, 4)[0]
        # A ring set up anew holds none of the old chains. UML re-initialises
        # rings after a driver reset without stopping them first.
        self.loop.ring_stopped(vring.index)

    def on_get_vring_base(self, payload, fds):
        vring = self._vring(payload)
        vring.ready = False
        self._release_fds(vring)
        # The front end stops a ring when the driver resets the device:
        # chains it held belong to a driver that is gone.
        self.loop.ring_stopped(vring.index)
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
        fd = None if value & VRING_NOFD or not fds else fds.pop(0)
        if fd is not None and attr == "call_fd":
            # A full pipe must not stop the loop: the front end owns the
            # file and may have left it blocking.
            os.set_blocking(fd, False)
        setattr(vring, attr, fd)
        if fd is not None and attr == "kick_fd":
            self.backend.watch_kick(fd, self, vring)

    def on_set_vring_kick(self, payload, fds):
        self._vring_fd(payload, fds, "kick_fd")

    def on_set_vring_call(self, payload, fds):
        self._vring_fd(payload, fds, "call_fd")

    def on_set_vring_err(self, payload, fds):
        pass  # the fd is closed with the rest: errors are not reported

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
        self.backend_req_fd = fds.pop(0) if fds else None

    def on_get_config(self, payload, fds):
        offset, size, flags = struct.unpack_from("<III", payload)
        if size > MAX_PAYLOAD - 12:
            raise ProtocolError("GET_CONFIG of %d bytes" % size)
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
        for vring in self.vrings:
            self._start_state(vring)

    def process(self):
        """Let the device work through what the driver queued, unless
        the backend is stalled."""
        if not self.backend.stalled:
            self.loop.run()


def _close_unclaimed(fds):
    while fds:
        os.close(fds.pop())
