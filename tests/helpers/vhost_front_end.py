"""A small vhost-user front end for the tests: it plays the guest.

It shares a memfd as guest memory, lays out two split virtqueues in it and
exchanges real vhost-user messages with a backend, so the backend's
protocol handling and ring walking are tested without booting a kernel.
Plain Python: it runs with the compiled core blocked too.
"""

import os
import socket
import struct
import threading
import time

from virtio_gpio import vhost_user as vu
from virtio_gpio.vhost_user import protocol as wire
from virtio_gpio.vhost_user import vring
from virtio_gpio.wire import id30 as id30_wire

MEM = 1 << 16
BASE = 0x100000        # guest-physical address of the region
NUM = 8


class FrontEnd:
    """Guest memory, two vrings and the vhost-user conversation."""

    def __init__(self, sock):
        self.sock = sock
        self.fd = os.memfd_create("guest")
        os.ftruncate(self.fd, MEM)
        import mmap
        self.mem = mmap.mmap(self.fd, MEM)
        self.rings = {}
        self.kick, self.call = {}, {}
        self.next_buf = 0x8000

    def send(self, request, payload=b"", fds=(), need_reply=False):
        flags = wire.FLAG_VERSION | (wire.FLAG_NEED_REPLY if need_reply else 0)
        msg = wire.HEADER.pack(request, flags, len(payload)) + payload
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("%di" % len(fds), *fds))] if fds else []
        self.sock.sendmsg([msg], anc)

    def recv(self):
        header = self.sock.recv(wire.HEADER.size, socket.MSG_WAITALL)
        request, flags, size = wire.HEADER.unpack(header)
        assert flags & wire.FLAG_REPLY
        return self.sock.recv(size, socket.MSG_WAITALL) if size else b""

    def handshake(self):
        self.send(vu.Request.SET_OWNER)
        self.send(vu.Request.GET_FEATURES)
        features = struct.unpack("<Q", self.recv())[0]
        assert features & wire.F_PROTOCOL_FEATURES and features & wire.F_VERSION_1
        self.send(vu.Request.GET_PROTOCOL_FEATURES)
        pf = struct.unpack("<Q", self.recv())[0] & (wire.PF_REPLY_ACK | wire.PF_CONFIG)
        self.send(vu.Request.SET_PROTOCOL_FEATURES, struct.pack("<Q", pf))
        self.send(vu.Request.SET_FEATURES, struct.pack("<Q", wire.F_VERSION_1), need_reply=True)
        assert struct.unpack("<Q", self.recv())[0] == 0
        region = struct.pack("<II", 1, 0) + struct.pack("<QQQQ", BASE, MEM, BASE, 0)
        self.send(vu.Request.SET_MEM_TABLE, region + bytes(32), fds=[self.fd], need_reply=True)
        assert struct.unpack("<Q", self.recv())[0] == 0
        for index in (0, 1):
            desc, avail, used = 0x1000 * (index * 4 + 1), 0x1000 * (index * 4 + 2), 0x1000 * (index * 4 + 3)
            self.rings[index] = {"desc": desc, "avail": avail, "used": used,
                                 "free": 0, "avail_idx": 0, "used_seen": 0}
            self.send(vu.Request.SET_VRING_NUM, struct.pack("<II", index, NUM))
            self.send(vu.Request.SET_VRING_BASE, struct.pack("<II", index, 0))
            self.send(vu.Request.SET_VRING_ADDR, struct.pack("<IIQQQQ", index, 0, BASE + desc,
                                                     BASE + used, BASE + avail, 0))
            self.kick[index] = os.eventfd(0, os.EFD_NONBLOCK)
            r, w = os.pipe()
            os.set_blocking(r, False)
            self.call[index] = r
            self.send(vu.Request.SET_VRING_CALL, struct.pack("<Q", index), fds=[w])
            os.close(w)
            self.send(vu.Request.SET_VRING_KICK, struct.pack("<Q", index), fds=[self.kick[index]])
            self.send(vu.Request.SET_VRING_ENABLE, struct.pack("<II", index, 1), need_reply=True)
            assert struct.unpack("<Q", self.recv())[0] == 0

    def config(self, size):
        self.send(vu.Request.GET_CONFIG, struct.pack("<III", 0, size, 0) + bytes(size))
        reply = self.recv()
        assert struct.unpack_from("<II", reply) == (0, size)
        return reply[12:]

    def post(self, index, data=None, length=id30_wire.MSG_SIZE):
        ring = self.rings[index]
        addr = self.next_buf
        self.next_buf += 64
        if data is not None:
            self.mem[addr:addr + len(data)] = data
        head = ring["free"] % NUM
        ring["free"] += 1
        flags = 0 if data is not None else vring.DESC_F_WRITE
        self.mem[ring["desc"] + 16 * head:ring["desc"] + 16 * head + 16] = \
            vring.VRING_DESC.pack(BASE + addr, length, flags, 0)
        slot = ring["avail_idx"] % NUM
        struct.pack_into("<H", self.mem, ring["avail"] + 4 + 2 * slot, head)
        ring["avail_idx"] += 1
        struct.pack_into("<H", self.mem, ring["avail"] + 2, ring["avail_idx"] & 0xFFFF)
        return addr

    def post_chain(self, index, out_data, in_len):
        """A two-descriptor chain: device-readable out_data, then in_len writable."""
        ring = self.rings[index]
        out_addr, in_addr = self.next_buf, self.next_buf + 64
        self.next_buf += 128
        self.mem[out_addr:out_addr + len(out_data)] = out_data
        head = ring["free"] % NUM
        nxt = (head + 1) % NUM
        ring["free"] += 2
        base = ring["desc"]
        self.mem[base + 16 * head:base + 16 * head + 16] = vring.VRING_DESC.pack(
            BASE + out_addr, len(out_data), vring.DESC_F_NEXT, nxt)
        self.mem[base + 16 * nxt:base + 16 * nxt + 16] = vring.VRING_DESC.pack(
            BASE + in_addr, in_len, vring.DESC_F_WRITE, 0)
        slot = ring["avail_idx"] % NUM
        struct.pack_into("<H", self.mem, ring["avail"] + 4 + 2 * slot, head)
        ring["avail_idx"] += 1
        struct.pack_into("<H", self.mem, ring["avail"] + 2, ring["avail_idx"] & 0xFFFF)
        return head, in_addr

    def notify(self, index):
        os.eventfd_write(self.kick[index], 1)

    def used(self, index):
        """New used entries: [(head, len), ...]."""
        ring = self.rings[index]
        idx = struct.unpack_from("<H", self.mem, ring["used"] + 2)[0]
        out = []
        while ring["used_seen"] != idx:
            slot = ring["used_seen"] % NUM
            out.append(struct.unpack_from("<II", self.mem, ring["used"] + 4 + 8 * slot))
            ring["used_seen"] = (ring["used_seen"] + 1) & 0xFFFF
        return out


def serve(tmp_path, device, check_driver=None):
    """A server thread with one backend, and a front end that completed
    the handshake: (front end, server, thread)."""
    backend = vu.Backend(device, str(tmp_path / "sock"))
    if check_driver:
        backend.check_driver(check_driver)
    server = vu.Server([backend], control_path=str(tmp_path / "ctl"),
                       once=True)
    server.open()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(server.backends[0].socket_path)
    sock.settimeout(5)
    front = FrontEnd(sock)
    front.handshake()
    return front, server, thread



def wait_used(front, index, count):
    deadline = time.monotonic() + 5
    got = []
    while len(got) < count:
        got += front.used(index)
        assert time.monotonic() < deadline, "device never used %d buffers" % count
        time.sleep(0.001)
    return got


def std_request(front, msg_type, gpio=0, value=0, in_len=2):
    head, in_addr = front.post_chain(0, struct.pack("<HHI", msg_type, gpio, value), in_len)
    front.notify(0)
    ((used_head, used_len),) = wait_used(front, 0, 1)
    assert used_head == head
    return bytes(front.mem[in_addr:in_addr + used_len])




def check_serves(directory):
    """Serve a standard device from a backend thread and drive a line
    through it from this front end; raises AssertionError if anything
    is off. Tests run it where the compiled core cannot be loaded."""
    import pathlib

    from virtio_gpio.devices.standard import StandardDevice
    from virtio_gpio.wire.standard import Direction, Msg

    device = StandardDevice(["led", "button"])
    front, backend, thread = serve(pathlib.Path(directory), device)
    assert std_request(front, Msg.SET_DIRECTION, 0, Direction.OUT) == b"\0\0"
    assert std_request(front, Msg.SET_VALUE, 0, 1) == b"\0\0"
    assert std_request(front, Msg.GET_VALUE, 0) == b"\0\x01"
    assert device.lines[0].value == 1
    front.sock.close()
    thread.join(5)
    assert not thread.is_alive(), "the backend did not stop"
