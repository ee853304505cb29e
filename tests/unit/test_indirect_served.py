"""Indirect descriptor tables through a served backend: a front end posts
requests and eventq buffers as one ring descriptor referring to a table,
as Linux's virtio core does once VIRTIO_RING_F_INDIRECT_DESC is
negotiated; the backend answers them as direct ones, and the driver
checker judges them as it judges direct ones. A malformed table drops
the front end and leaves the server serving."""

import json
import socket
import struct
import time

from virtio_gpio.conformance import frontend
from virtio_gpio.devices.standard import StandardDevice
from virtio_gpio.vhost_user.control import send_control
from virtio_gpio.wire.standard import Direction, IrqType, Msg
from two_devices import two_devices
from vhost_front_end import FrontEnd, serve, std_request, wait_used


def test_requests_and_eventq_buffers_in_tables_are_served(tmp_path):
    device = StandardDevice(["led", "button"])
    front, server, thread = serve(tmp_path, device,
                                  check_driver=str(tmp_path / "check.json"))
    try:
        assert std_request(front, Msg.SET_DIRECTION, 0, Direction.OUT,
                           indirect=True) == b"\0\0"
        assert std_request(front, Msg.SET_VALUE, 0, 1, indirect=True) \
            == b"\0\0"
        assert std_request(front, Msg.GET_VALUE, 0, indirect=True) \
            == b"\0\x01"
        # The request in the ring, its response in a table after it.
        assert std_request(front, Msg.GET_VALUE, 0, indirect=True,
                           in_ring=1) == b"\0\x01"
        assert device.lines[0].value == 1
        names = std_request(front, Msg.GET_LINE_NAMES, in_len=1 + 12,
                            indirect=True)
        assert names == b"\0led\0button\0"
        assert std_request(front, Msg.SET_DIRECTION, 1, Direction.IN,
                           indirect=True) == b"\0\0"
        assert std_request(front, Msg.SET_IRQ_TYPE, 1, IrqType.EDGE_RISING,
                           indirect=True) == b"\0\0"
        head, status = front.post_chain(1, struct.pack("<H", 1), 1,
                                        indirect=True, in_ring=1)
        front.notify(1)
        assert send_control(server.control_path, {
            "cmd": "set_input", "line": 1, "level": 1})["ok"]
        assert wait_used(front, 1, 1) == [(head, 1)]
        assert front.mem[status] == 1                     # VALID
        # One ring descriptor per chain: the ring is never short of them.
        assert len(front.vrings[1].free) == front.vrings[1].num
    finally:
        front.sock.close()
        thread.join(5)
    report = json.loads((tmp_path / "check.json").read_text())
    verdicts = {row["id"]: row["verdict"] for row in report["requirements"]}
    for key in ("V-RQ-2", "V-RQ-3", "V-RQ-4", "V-RQ-7", "V-EQ-2", "V-EQ-3",
                "V-EQ-4", "V-X-1"):
        assert verdicts[key] == "pass", (key, report)


def test_tables_of_both_queues_held_at_once_do_not_overlap(tmp_path):
    # An eventq buffer the device holds, in a table, while a request in a
    # table of its own waits on the other queue: the two blocks of the
    # shared room must be apart, or the request's bytes overwrite the
    # eventq buffer's and the device's answers land in each other.
    device = StandardDevice(["led", "button"])
    front, server, thread = serve(tmp_path, device)
    try:
        assert std_request(front, Msg.SET_DIRECTION, 1, Direction.IN) \
            == b"\0\0"
        assert std_request(front, Msg.SET_IRQ_TYPE, 1,
                           IrqType.EDGE_RISING) == b"\0\0"
        event = frontend.FrontEnd.post_chain(front, 1, struct.pack("<H", 1),
                                             1, indirect=True)
        front.notify(1)
        request = frontend.FrontEnd.post_chain(
            front, 0, struct.pack("<HHI", Msg.GET_VALUE, 0, 0), 2,
            indirect=True)
        blocks = [(chain.table, chain.table + size)
                  for chain, ring in ((event, 1), (request, 0))
                  for addr, size in front.vrings[ring].big.items()
                  if addr == chain.table]
        assert len(blocks) == 2
        (a0, a1), (b0, b1) = sorted(blocks)
        assert a1 <= b0, blocks
        front.notify(0)
        assert wait_used(front, 0, 1) == [(request.head, 2)]
        assert front.response(request) == b"\0\0"
        assert send_control(server.control_path, {
            "cmd": "set_input", "line": 1, "level": 1})["ok"]
        assert wait_used(front, 1, 1) == [(event.head, 1)]
        assert front.response(event) == b"\x01"              # VALID
    finally:
        front.sock.close()
        thread.join(5)


def test_an_eventq_of_n_entries_holds_n_lines_with_tables(tmp_path):
    num = 8   # the test front end's queue size
    device = StandardDevice(num)
    front, server, thread = serve(tmp_path, device)
    try:
        for line in range(num):
            std_request(front, Msg.SET_DIRECTION, line, Direction.IN)
            std_request(front, Msg.SET_IRQ_TYPE, line, IrqType.EDGE_BOTH)
            front.post_chain(1, struct.pack("<H", line), 1, indirect=True)
        front.notify(1)
        std_request(front, Msg.GET_VALUE, 0)   # the eventq taken meanwhile
        assert sorted(device.held_irq_lines()) == list(range(num))
    finally:
        front.sock.close()
        thread.join(5)


def test_a_malformed_table_drops_the_front_end_and_the_server_serves_on(
        tmp_path):
    with two_devices(tmp_path) as served:
        front, backend = served.front, served.server.backend("a")
        head, _ = front.post_chain(0, struct.pack("<HHI", Msg.GET_VALUE, 0,
                                                  0), 2, indirect=True)
        # The table's length: one and a half descriptors.
        struct.pack_into("<I", front.mem, front.vrings[0].desc + 16 * head
                         + 8, 24)
        front.notify(0)
        deadline = time.monotonic() + 5
        while backend.conn is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert backend.conn is None
        assert front.vrings[0].outstanding        # never answered
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(backend.socket_path)
        sock.settimeout(5)
        again = FrontEnd(sock)
        try:
            again.handshake()
            assert std_request(again, Msg.GET_VALUE, 1,
                               indirect=True) == b"\0\0"
        finally:
            again.close()
