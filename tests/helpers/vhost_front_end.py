"""The package's vhost-user front end (virtio_gpio.conformance.frontend)
as the tests use it: it plays the guest.

It shares a memfd as guest memory, lays out two split virtqueues in it and
exchanges real vhost-user messages with a backend, so the backend's
protocol handling and ring walking are tested without booting a kernel.
Plain Python: it runs with the compiled core blocked too.
"""

import socket
import struct
import threading
import time

from virtio_gpio import vhost_user as vu
from virtio_gpio.conformance import frontend
from virtio_gpio.vhost_user import protocol as wire
from virtio_gpio.wire import id30 as id30_wire

BASE = frontend.BASE   # guest-physical address of the region
NUM = 8


class FrontEnd(frontend.FrontEnd):
    """The package's front end with the calls these tests were written
    against: VERSION_1 alone negotiated, chains as (head, offset of the
    writable part), used elements as (head, len)."""

    def handshake(self):
        super().handshake(features=wire.F_VERSION_1, num=NUM)

    @property
    def rings(self):
        """Queue -> offsets in guest memory of its desc, avail and used."""
        return {index: {"desc": v.desc, "avail": v.avail, "used": v.used}
                for index, v in self.vrings.items()}

    def config(self, size):
        offset, got, _, data = self.get_config(size)
        assert (offset, got) == (0, size)
        return data

    def post(self, index, data=None, length=id30_wire.MSG_SIZE):
        """One descriptor: ``data`` for the device, or ``length`` bytes
        for it to write; the offset of the writable buffer."""
        if data is not None:
            return super().post_chain(index, data, 0).in_addr
        return super().post_chain(index, b"", length).in_addr

    def post_chain(self, index, out_data, in_len, indirect=False,
                   in_ring=0):
        """A two-descriptor chain: device-readable out_data, then in_len
        writable; with ``indirect``, those after the first ``in_ring`` in
        a table a ring descriptor refers to."""
        chain = super().post_chain(index, out_data, in_len,
                                   indirect=indirect, in_ring=in_ring)
        return chain.head, chain.in_addr

    def used(self, index):
        """New used entries: [(head, len), ...]."""
        return [(head, length) for head, length, _ in self.collect(index)]


def start(backends, control_path=None, once=False):
    """A server thread serving ``backends``, and a front end that
    completed the handshake with the first: (front end, server, thread)."""
    server = vu.Server(backends, control_path=control_path, once=once)
    server.open()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(server.backends[0].socket_path)
    sock.settimeout(5)
    front = FrontEnd(sock)
    front.handshake()
    return front, server, thread


def serve(tmp_path, device, check_driver=None):
    """One backend serving ``device`` until its front end leaves, its
    control socket in ``tmp_path``: (front end, server, thread)."""
    backend = vu.Backend(device, str(tmp_path / "sock"))
    if check_driver:
        backend.check_driver(check_driver)
    return start([backend], str(tmp_path / "ctl"), once=True)


def wait_used(front, index, count):
    deadline = time.monotonic() + 5
    got = []
    while len(got) < count:
        got += front.used(index)
        assert time.monotonic() < deadline, "device never used %d buffers" % count
        time.sleep(0.001)
    return got


def std_request(front, msg_type, gpio=0, value=0, in_len=2, indirect=False,
                in_ring=0):
    head, in_addr = front.post_chain(
        0, struct.pack("<HHI", msg_type, gpio, value), in_len,
        indirect=indirect, in_ring=in_ring)
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
