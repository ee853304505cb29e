"""One server, several devices: routing, line events to subscribers and
waiters, stale sockets, and the control protocol's checks."""

import json
import os
import selectors
import socket
import struct
import threading
import time

import pytest

from virtio_gpio import vhost_user as vu
from virtio_gpio.devices.standard import StandardDevice
from virtio_gpio.vhost_user.backend import SocketInUse, listen
from virtio_gpio.vhost_user.control import read_line, send_control
from virtio_gpio.wire.standard import Direction, Msg
from two_devices import two_devices
from vhost_front_end import FrontEnd, std_request, wait_used


@pytest.fixture
def bench(tmp_path):
    """Two standard devices in one server; a front end on the first."""
    with two_devices(tmp_path) as served:
        yield served.front, served.server, served.devices
    assert not os.path.exists(served.server.control_path)


def ctl(server, **command):
    return send_control(server.control_path, command)


def test_commands_name_their_device(bench):
    front, server, devices = bench
    assert "several devices" in ctl(server, cmd="state")["error"]
    assert ctl(server, cmd="set_input", device="b", line=2, level=1)["ok"]
    assert devices[1].lines[2].value == 1
    assert ctl(server, cmd="set_input", device=0, line=1, level=1)["changed"]
    assert ctl(server, cmd="state", device="b")["lines"][2] == {
        "name": "", "direction": "in", "value": 1, "irq": "none"}
    assert [d["name"] for d in ctl(server, cmd="devices")["devices"]] == \
        ["a", "b"]
    assert "no device 'c'" in ctl(server, cmd="state", device="c")["error"]


def test_a_subscriber_hears_both_sides_with_times(bench):
    front, server, devices = bench
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sub:
        sub.settimeout(5)
        sub.connect(server.control_path)
        sub.sendall(b'{"cmd": "subscribe", "devices": ["a"]}\n')
        stream = sub.makefile("rb")
        assert json.loads(stream.readline()) == {"ok": True,
                                                 "subscribed": ["a"]}
        std_request(front, Msg.SET_DIRECTION, 0, Direction.OUT)
        std_request(front, Msg.SET_VALUE, 0, 1)
        ctl(server, cmd="set_input", device="b", line=0, level=1)  # not "a"
        ctl(server, cmd="set_input", device="a", line=1, level=1)
        events = [json.loads(stream.readline()) for _ in range(4)]
    assert [(e["event"], e["name"], e["value"]) for e in events] == [
        ("direction", "led", "out"), ("drive", "led", 0),
        ("drive", "led", 1), ("input", "button", 1)]
    assert all(e["device"] == "a" for e in events)
    times = [e["time"] for e in events]
    assert times == sorted(times) and abs(times[0] - time.time()) < 60


def test_wait_answers_when_the_guest_drives_the_line(bench):
    front, server, devices = bench
    assert ctl(server, cmd="wait", device="a", line=0, level=0,
               timeout=1)["ok"]          # already there
    answer = {}
    waiter = threading.Thread(target=lambda: answer.update(ctl(
        server, cmd="wait", device="a", line=0, level=1, timeout=10)))
    waiter.start()
    time.sleep(0.2)
    assert waiter.is_alive()
    std_request(front, Msg.SET_VALUE, 0, 1)
    std_request(front, Msg.SET_DIRECTION, 0, Direction.OUT)
    waiter.join(5)
    assert answer["ok"] and answer["time"] > 0
    started = time.monotonic()
    assert ctl(server, cmd="wait", device="a", line=1, level=1,
               timeout=0.3) == {"ok": False, "timeout": True}
    assert 0.25 < time.monotonic() - started < 5


@pytest.mark.parametrize("command, complaint", [
    ({"cmd": "set_input", "device": "a", "line": 1, "level": 7}, "0 or 1"),
    ({"cmd": "set_input", "device": "a", "line": -1, "level": 0},
     "out of range"),
    ({"cmd": "set_input", "device": "a", "line": 5, "level": 0},
     "out of range"),
    ({"cmd": "set_input", "device": "a", "line": True, "level": 0},
     "integer"),
    ({"cmd": "set_input", "device": "a", "line": 1.0, "level": 0}, "integer"),
    ({"cmd": "inject", "device": "a", "fault": "drop", "count": -3},
     "'count'"),
    ({"cmd": "inject", "device": "a", "fault": "melt"}, "unknown fault"),
    ({"cmd": "wait", "device": "a", "line": 0, "level": 1,
      "timeout": float("inf")}, "number"),
    ({"cmd": "noop", "device": "a", "on": "yes"}, "true or false"),
    ({"cmd": "state", "device": [1]}, "name or an index"),
    ({"cmd": None}, "unknown command"),
])
def test_a_bad_command_says_what_is_wrong_and_changes_nothing(
        bench, command, complaint):
    front, server, devices = bench
    before = [(l.value, l.direction) for l in devices[0].lines]
    answer = send_control(server.control_path, command)
    assert list(answer) == ["error"] and complaint in answer["error"]
    assert [(l.value, l.direction) for l in devices[0].lines] == before
    assert devices[0].faults == []
    assert std_request(front, Msg.GET_VALUE, 1) == b"\0\0"


def test_an_output_cannot_be_driven_from_the_host(bench):
    front, server, devices = bench
    std_request(front, Msg.SET_DIRECTION, 0, Direction.OUT)
    answer = ctl(server, cmd="set_input", device="a", line=0, level=1)
    assert "output" in answer["error"]


def test_a_request_without_a_newline_and_an_endless_one(bench):
    front, server, devices = bench
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(server.control_path)
        sock.sendall(b"x" * (70 * 1024))
        assert "longer than" in json.loads(read_line(sock))["error"]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(server.control_path)
        sock.sendall(b'{"cmd": "devices"}')
        sock.shutdown(socket.SHUT_WR)
        assert "devices" in json.loads(read_line(sock))
    assert std_request(front, Msg.GET_VALUE, 1) == b"\0\0"


def test_a_stale_socket_is_replaced_and_a_live_one_kept(tmp_path):
    path = str(tmp_path / "s")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)          # what a killed backend leaves behind
    stale.close()
    live = listen(path)
    with pytest.raises(SocketInUse):
        listen(path)
    live.close()
    (tmp_path / "f").write_text("")
    with pytest.raises(FileExistsError):
        listen(str(tmp_path / "f"))
    assert (tmp_path / "f").read_text() == ""


def test_a_server_that_cannot_open_leaves_nothing_behind(tmp_path):
    busy = listen(str(tmp_path / "b.sock"))
    server = vu.Server(
        [vu.Backend(StandardDevice(1), str(tmp_path / "a.sock"), "a"),
         vu.Backend(StandardDevice(1), str(tmp_path / "b.sock"), "b")],
        control_path=str(tmp_path / "ctl"))
    with pytest.raises(SocketInUse):
        server.open()
    busy.close()
    assert sorted(os.listdir(tmp_path)) == ["b.sock"]


def test_an_integer_beyond_a_float_is_refused_and_the_server_serves_on(
        bench):
    front, server, devices = bench
    answer = ctl(server, cmd="wait", device="a", line=0, level=1,
                 timeout=10 ** 400)
    assert "number" in answer["error"]
    assert [d["name"] for d in ctl(server, cmd="devices")["devices"]] == \
        ["a", "b"]


def test_json_nested_too_deep_is_refused_and_the_server_serves_on(bench):
    # The json module recurses per level: 5000 brackets raised a
    # RecursionError that ended the control server.
    front, server, devices = bench
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(server.control_path)
        sock.sendall(b"[" * 5000 + b"\n")
        answer = json.loads(read_line(sock))
    assert "nested too deep" in answer["error"]
    assert [d["name"] for d in ctl(server, cmd="devices")["devices"]] == \
        ["a", "b"]


def test_subscribing_to_no_device_is_refused(bench):
    front, server, devices = bench
    answer = ctl(server, cmd="subscribe", devices=[])
    assert "at least one device" in answer["error"]


def test_a_command_that_fails_inside_is_an_error_not_a_dead_server(
        bench, monkeypatch):
    front, server, devices = bench

    def broken(command, client):
        raise RuntimeError("boom")

    monkeypatch.setattr(server.commands, "do_devices", broken)
    assert ctl(server, cmd="devices") == {
        "error": "devices failed: RuntimeError: boom"}
    assert std_request(front, Msg.GET_VALUE, 1) == b"\0\0"


def test_a_request_of_the_wrong_size_is_refused_in_its_own_chain(bench):
    # The ERR reply must go back in the chain that carried the request:
    # a reply without one ended the server.
    front, server, devices = bench
    head, in_addr = front.post_chain(0, b"\x04\x00\x00\x00", 2)
    front.notify(0)
    ((used_head, used_len),) = wait_used(front, 0, 1)
    assert (used_head, used_len) == (head, 1)
    assert front.mem[in_addr] == 1                   # STATUS_ERR
    assert std_request(front, Msg.GET_VALUE, 1) == b"\0\0"


def test_a_bad_chain_found_when_a_stall_ends_drops_that_front_end(
        bench, caplog):
    # Resuming processes what queued meanwhile; a ring error there went
    # up to the control command as a traceback and kept the front end.
    front, server, devices = bench
    assert ctl(server, cmd="stall", device="a", on=True) == {"ok": True}
    head, _ = front.post_chain(0, b"\x03\x00\x01\x00\x00\x00\x00\x00", 2)
    front._write_desc(front.vrings[0].desc, head, 0, 0, 1, 0xFFFF)  # NEXT
    front.notify(0)
    assert ctl(server, cmd="stall", device="a", on=False) == {"ok": True}
    assert "front end dropped" in caplog.text
    devices_now = ctl(server, cmd="devices")["devices"]
    assert [(d["name"], d["connected"]) for d in devices_now] == \
        [("a", False), ("b", False)]


def test_a_subscriber_closed_in_the_batch_that_reads_it(bench):
    # Events go out to a subscriber that has hung up; the send fails and
    # closes it, and then its own "readable" in the same select() batch
    # must find nothing to do, not a socket of None.
    front, server, devices = bench
    from virtio_gpio.vhost_user.control_server import ControlClient
    a, b = socket.socketpair()
    client = ControlClient(server, a)
    client.close()
    client.ready(selectors.EVENT_READ | selectors.EVENT_WRITE)
    b.close()
    assert ctl(server, cmd="devices")["devices"]


def test_a_client_that_shuts_its_side_still_gets_its_answer(bench):
    # socat and nc -N shut their sending side after the request.
    front, server, devices = bench
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(server.control_path)
        sock.sendall(b'{"cmd": "wait", "device": "a", "line": 1, '
                     b'"level": 1, "timeout": 5}\n')
        sock.shutdown(socket.SHUT_WR)
        time.sleep(0.1)
        ctl(server, cmd="set_input", device="a", line=1, level=1)
        assert json.loads(read_line(sock))["ok"] is True


def test_fds_sent_along_with_a_message_are_closed_before_the_reply(
        bench, tmp_path, monkeypatch):
    # A front end that has its answer may count on the fds it sent along
    # being gone; checked at the moment the reply goes out, not after.
    front, server, devices = bench
    from virtio_gpio.vhost_user.connection import Connection
    marker = str(tmp_path / "sent-along")
    open(marker, "w").close()

    def open_on_marker():
        # Only the fds of this file: the rest of the process may open and
        # close others meanwhile.
        return sum(os.path.realpath("/proc/self/fd/" + fd) == marker
                   for fd in os.listdir("/proc/self/fd"))

    held_at_reply = []
    reply = Connection.reply

    def counting_reply(self, request, payload):
        held_at_reply.append(open_on_marker())
        reply(self, request, payload)

    monkeypatch.setattr(Connection, "reply", counting_reply)
    from virtio_gpio.vhost_user import protocol as wire
    for request in (vu.Request.GET_FEATURES, 0x7F):   # handled, unknown
        # The header and fds first; the payload only once this test's own
        # copies are closed, so the backend cannot reply before then.
        fds = [os.open(marker, os.O_RDONLY) for _ in range(4)]
        front.sock.sendmsg(
            [wire.HEADER.pack(request, wire.FLAG_VERSION
                              | wire.FLAG_NEED_REPLY, 8)],
            [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
              struct.pack("4i", *fds))])
        for fd in fds:
            os.close(fd)
        front.sock.sendall(bytes(8))
        front.recv()
    assert held_at_reply == [0, 0]
    assert open_on_marker() == 0


def test_a_payload_larger_than_any_message_drops_the_front_end(bench):
    front, server, devices = bench
    from virtio_gpio.vhost_user import protocol as wire
    front.sock.sendall(wire.HEADER.pack(vu.Request.GET_FEATURES,
                                        wire.FLAG_VERSION, 1 << 30))
    backend = server.backend("a")
    wait_for = time.monotonic() + 5
    while backend.conn is not None and time.monotonic() < wait_for:
        time.sleep(0.01)
    assert backend.conn is None
    assert ctl(server, cmd="devices")["devices"]


def test_a_stale_kick_in_the_same_batch_is_skipped(bench):
    # GET_VRING_BASE closes the kick fd; its key may still come in the
    # same select() batch.
    front, server, devices = bench
    backend = server.backend("a")
    conn = backend.conn
    vring = conn.vrings[0]

    class Key:
        fd = vring.kick_fd + 1000     # no longer the ring's
        data = ("kick", conn, vring)

    server._kick(Key())
    assert backend.conn is conn
    assert std_request(front, Msg.GET_VALUE, 1) == b"\0\0"


def test_idle_control_clients_are_capped(bench):
    from virtio_gpio.vhost_user.server import MAX_CONTROL_CLIENTS
    front, server, devices = bench
    idle = []
    try:
        for _ in range(MAX_CONTROL_CLIENTS + 5):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(server.control_path)
            idle.append(sock)
        deadline = time.monotonic() + 5
        while len(server.clients) < MAX_CONTROL_CLIENTS and \
                time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(server.clients) == MAX_CONTROL_CLIENTS
        assert std_request(front, Msg.GET_VALUE, 1) == b"\0\0"
    finally:
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 5
    while server.clients and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ctl(server, cmd="devices")["devices"]


def test_a_failing_recorder_is_dropped_and_the_next_still_records(bench):
    front, server, devices = bench

    class Broken:
        def record(self, event):
            raise RuntimeError("disk full")

        def close(self):
            pass

    class Kept(Broken):
        def __init__(self):
            self.events = []

        def record(self, event):
            self.events.append(event)

    broken, kept = Broken(), Kept()
    server.recorders[:] = [broken, kept]
    ctl(server, cmd="set_input", device="a", line=1, level=1)
    assert [e["event"] for e in kept.events] == ["input"]
    assert server.recorders == [kept]


def test_a_stalled_device_answers_nothing_until_resumed(bench):
    front, server, devices = bench
    assert ctl(server, cmd="stall", device="a") == {"ok": True}
    head, in_addr = front.post_chain(
        0, struct.pack("<HHI", Msg.SET_VALUE, 0, 1), 2)
    front.notify(0)
    time.sleep(0.3)
    assert front.used(0) == []
    assert devices[0].lines[0].out_value == 0
    # Resumed: the request queued meanwhile is answered, then new ones.
    assert ctl(server, cmd="stall", device="a", on=False) == {"ok": True}
    assert wait_used(front, 0, 1) == [(head, 2)]
    assert devices[0].lines[0].out_value == 1
    assert std_request(front, Msg.SET_DIRECTION, 0, Direction.OUT) == b"\0\0"
    assert std_request(front, Msg.GET_VALUE, 0) == b"\0\x01"


def _front_end_on(backend):
    """A new front end on ``backend``, handshake done."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(backend.socket_path)
    sock.settimeout(5)
    front = FrontEnd(sock)
    front.handshake()
    return front


def _until_disconnected(server, name):
    deadline = time.monotonic() + 5
    while ctl(server, cmd="state", device=name)["connected"]:
        assert time.monotonic() < deadline, "%s kept its front end" % name
        time.sleep(0.01)


def test_state_says_whether_the_device_is_stalled(bench):
    front, server, devices = bench
    assert ctl(server, cmd="state", device="a")["stalled"] is False
    ctl(server, cmd="stall", device="a")
    assert ctl(server, cmd="state", device="a")["stalled"] is True
    assert ctl(server, cmd="state", device="b")["stalled"] is False
    ctl(server, cmd="stall", device="a", on=False)
    assert ctl(server, cmd="state", device="a")["stalled"] is False


def test_a_stall_ends_with_the_front_end_it_stalled(bench):
    # A rebooted guest, a new QEMU: the next front end gets a device that
    # answers, not a hang it never asked for.
    front, server, devices = bench
    ctl(server, cmd="stall", device="a")
    front.close()
    _until_disconnected(server, "a")
    again = _front_end_on(server.backend("a"))
    try:
        assert std_request(again, Msg.GET_VALUE, 1) == b"\0\0"
    finally:
        again.close()
    assert ctl(server, cmd="state", device="a")["stalled"] is False


def test_a_stall_set_with_no_front_end_holds_for_the_next_one(bench):
    front, server, devices = bench
    backend = server.backend("b")
    ctl(server, cmd="stall", device="b")
    # A connection that says nothing (a probe for a stale socket) is no
    # front end: the stall waits for one that speaks.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.connect(backend.socket_path)
    deadline = time.monotonic() + 5
    while backend.connections < 1 or backend.conn is not None:
        assert time.monotonic() < deadline, "the probe was never seen"
        time.sleep(0.01)
    again = _front_end_on(backend)
    try:
        head, _ = again.post_chain(
            0, struct.pack("<HHI", Msg.GET_VALUE, 0, 0), 2)
        again.notify(0)
        time.sleep(0.3)
        assert again.used(0) == []
        assert ctl(server, cmd="state", device="b")["stalled"] is True
        ctl(server, cmd="stall", device="b", on=False)
        assert wait_used(again, 0, 1) == [(head, 2)]
    finally:
        again.close()
