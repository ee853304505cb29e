"""The vhost-user backend against a small front end written here.

The front end plays the guest: it shares a memfd as guest memory, lays
out two split virtqueues in it, and exchanges real vhost-user messages
with the backend over a socketpair, so the backend's protocol handling and
ring walking are tested without booting a kernel.
"""

import errno
import json
import os
import socket
import struct
import threading
import time

import pytest

from virtio_gpio import Fault, MsgType, Id30Device
from virtio_gpio.wire import id30 as id30_wire
from virtio_gpio import vhost_user as vu
from virtio_gpio.vhost_user.protocol import F_INDIRECT_DESC
from virtio_gpio.conformance import frontend
from virtio_gpio.vhost_user import protocol as wire
from vhost_front_end import BASE, FrontEnd, serve, std_request, wait_used

@pytest.fixture
def pair(tmp_path):
    device = Id30Device(["a", "b", "c"], name="vu-test")
    front, backend, thread = serve(tmp_path, device)
    yield front, backend, device
    front.sock.close()
    thread.join(5)
    assert not thread.is_alive(), "backend did not exit when the front end left"


def test_config_space_served_like_the_model(pair):
    front, backend, device = pair
    size = len(device.config_space())
    assert front.config(size) == device.config_space()
    assert front.config(size + 16) == device.config_space() + bytes(16)


def test_request_answered_through_guest_memory(pair):
    front, backend, device = pair
    device.lines[1].value = 1
    rx = front.post(0)
    front.notify(0)
    front.post(1, id30_wire.encode(MsgType.GET_VALUE, 1, 0))
    front.notify(1)
    assert wait_used(front, 1, 1) == [(0, 0)]
    ((head, length),) = wait_used(front, 0, 1)
    assert (head, length) == (0, id30_wire.MSG_SIZE)
    assert id30_wire.decode(front.mem[rx:rx + 8]) == (
        id30_wire.reply_type(MsgType.GET_VALUE), 1, 1)
    assert os.read(front.call[0], 64) and os.read(front.call[1], 64)


def test_events_and_faults_reach_the_guest(pair):
    front, backend, device = pair
    rx = [front.post(0) for _ in range(2)]
    front.notify(0)
    device.inject(Fault.SHORT_LEN)
    front.post(1, id30_wire.encode(MsgType.GET_DIRECTION, 0, 0))
    front.notify(1)
    ((_, length),) = wait_used(front, 0, 1)
    assert length == id30_wire.MSG_SIZE // 2
    answer = vu.send_control(backend.control_path,
                             {"cmd": "set_input", "line": 2, "level": 1})
    assert answer["ok"] and answer["time"] > 0
    wait_used(front, 0, 1)
    assert id30_wire.decode(front.mem[rx[1]:rx[1] + 8]) == (MsgType.HOST_LEVEL, 2, 1)


def test_reply_waits_for_a_receive_buffer(pair):
    front, backend, device = pair
    front.post(1, id30_wire.encode(MsgType.SET_VALUE, 0, 1))
    front.notify(1)
    wait_used(front, 1, 1)
    assert front.used(0) == []
    rx = front.post(0)
    front.notify(0)
    wait_used(front, 0, 1)
    assert id30_wire.decode(front.mem[rx:rx + 8])[2] == -errno.EPERM


def test_control_state_and_inject(pair):
    front, backend, device = pair
    state = vu.send_control(backend.control_path, {"cmd": "state"})
    assert [l["name"] for l in state["lines"]] == ["a", "b", "c"]
    assert state["connected"] and state["connections"] == 1
    assert vu.send_control(backend.control_path,
                           {"cmd": "inject", "fault": "drop"}) == {"ok": True}
    assert device.faults == [Fault.DROP]
    assert "error" in vu.send_control(backend.control_path, {"cmd": "nope"})


def test_out_of_memory_descriptor_is_a_protocol_error(tmp_path):
    mem = vu.GuestMemory()
    with pytest.raises(vu.ProtocolError):
        mem.read(0x1234, 8)


def test_script_replays_input_changes(tmp_path):
    from virtio_gpio.vhost_user.cli import parse_script
    script = tmp_path / "script"
    script.write_text("# t line level\n0.6 2 0\n\n0.4 2 1  # rising first\n")
    steps = parse_script(str(script))
    assert steps == [(0.4, 2, 1), (0.6, 2, 0)]
    from virtio_gpio.testbench.stimuli import (StimulatedBackend,
                                               script_sequences)
    device = Id30Device(3)
    backend = StimulatedBackend(device, str(tmp_path / "sock"),
                                generators=script_sequences(steps))
    server = vu.Server([backend], once=True)
    server.open()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(backend.socket_path)
        sock.settimeout(5)
        front = FrontEnd(sock)
        front.handshake()
        rx = [front.post(0) for _ in range(2)]
        front.notify(0)
        wait_used(front, 0, 2)
        assert [id30_wire.decode(front.mem[a:a + 8]) for a in rx] == [
            (MsgType.HOST_LEVEL, 2, 1), (MsgType.HOST_LEVEL, 2, 0)]
    thread.join(5)
    assert not thread.is_alive()


def test_script_errors_name_the_line(tmp_path):
    from virtio_gpio.vhost_user.cli import parse_script
    script = tmp_path / "script"
    script.write_text("0.1 2 1\nsoon 2 0\n")
    with pytest.raises(SystemExit, match=r"script:2: expected"):
        parse_script(str(script))


@pytest.fixture
def standard(tmp_path):
    from virtio_gpio.devices.standard import StandardDevice
    device = StandardDevice(["x", "y", "z"])
    front, backend, thread = serve(tmp_path, device)
    yield front, backend, device
    front.sock.close()
    thread.join(5)
    assert not thread.is_alive()
    assert device.held_irq_lines() == {}  # forgotten with the front end


def test_standard_features_config_and_names(standard):
    from virtio_gpio.devices.standard import Msg
    front, backend, device = standard
    front.send(vu.Request.GET_FEATURES)
    assert struct.unpack("<Q", front.recv())[0] & 1   # VIRTIO_GPIO_F_IRQ
    ngpio, names_size = struct.unpack("<H2xI", front.config(8))
    assert (ngpio, names_size) == (3, 6)
    assert std_request(front, Msg.GET_LINE_NAMES, in_len=1 + names_size) == b"\0x\0y\0z\0"


def offered(front):
    front.send(vu.Request.GET_FEATURES)
    return struct.unpack("<Q", front.recv())[0]


def test_the_standard_device_offers_indirect_descriptors(standard):
    assert offered(standard[0]) & F_INDIRECT_DESC


def test_the_2020_device_offers_no_indirect_descriptors(pair):
    assert not offered(pair[0]) & F_INDIRECT_DESC


def test_devices_offer_version_1_unless_legacy():
    # The test front end refuses a legacy device outright: the offer is
    # read from the handler itself.
    import types
    from virtio_gpio.devices.standard import StandardDevice
    from virtio_gpio.vhost_user.connection import Connection
    offers = []
    for legacy in (False, True):
        device = StandardDevice(2)
        device.legacy = legacy
        conn = types.SimpleNamespace(backend=types.SimpleNamespace(
            device=device))
        offers.append(struct.unpack(
            "<Q", Connection.on_get_features(conn, b"", []))[0])
    assert offers[0] & wire.F_VERSION_1
    assert offers[1] == offers[0] & ~wire.F_VERSION_1


class NoEnableFrontEnd(FrontEnd):
    """Sets its rings up without SET_VRING_ENABLE, as UML's virtio_uml
    does once its last SET_FEATURES lacks VHOST_USER_F_PROTOCOL_FEATURES."""

    def acked(self, request, payload=b"", fds=()):
        if request == vu.Request.SET_VRING_ENABLE:
            return None
        return super().acked(request, payload, fds)


def connect_without_enable(tmp_path, features):
    from virtio_gpio.devices.standard import StandardDevice
    server = vu.Server([vu.Backend(StandardDevice(["x", "y"]),
                                   str(tmp_path / "sock"))],
                       control_path=str(tmp_path / "ctl"), once=True)
    server.open()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    front = NoEnableFrontEnd.connect(str(tmp_path / "sock"), timeout=5)
    # UML's order: the device's bits first, the driver's after validate().
    front.set_features(wire.F_VERSION_1 | wire.F_PROTOCOL_FEATURES)
    frontend.FrontEnd.handshake(front, features=features, num=8)
    return front, thread


@pytest.mark.parametrize("features, served", [
    (wire.F_VERSION_1, True),
    (wire.F_VERSION_1 | wire.F_PROTOCOL_FEATURES, False)])
def test_rings_start_enabled_unless_protocol_features_are_negotiated(
        tmp_path, features, served):
    from virtio_gpio.devices.standard import Msg
    front, thread = connect_without_enable(tmp_path, features)
    try:
        head, in_addr = front.post_chain(0, struct.pack("<HHI", Msg.GET_VALUE,
                                                        1, 0), 2)
        front.notify(0)
        chain = front.vrings[0].outstanding[head]
        assert front.wait(chain, 5 if served else 0.3) is served
        if served:
            assert front.response(chain) == b"\0\0"
    finally:
        front.close()
        thread.join(5)


def test_standard_requests_through_chains(standard):
    from virtio_gpio.devices.standard import Direction, Msg
    front, backend, device = standard
    assert std_request(front, Msg.SET_DIRECTION, 2, Direction.OUT) == b"\0\0"
    assert std_request(front, Msg.SET_VALUE, 2, 1) == b"\0\0"
    assert std_request(front, Msg.GET_VALUE, 2) == b"\0\x01"
    assert std_request(front, Msg.GET_VALUE, 9) == b"\x01\0"   # STATUS_ERR
    assert device.lines[2].value == 1


def test_standard_eventq_edge_and_invalidate(standard):
    from virtio_gpio.devices.standard import IrqType, Msg
    front, backend, device = standard
    assert std_request(front, Msg.SET_IRQ_TYPE, 1, IrqType.EDGE_BOTH) == b"\0\0"
    head, status = front.post_chain(1, struct.pack("<H", 1), 1)
    front.notify(1)
    answer = vu.send_control(backend.control_path,
                             {"cmd": "set_input", "line": 1, "level": 1})
    assert answer["ok"]
    assert wait_used(front, 1, 1) == [(head, 1)]
    assert front.mem[status] == 1                     # VALID
    head, status = front.post_chain(1, struct.pack("<H", 1), 1)
    front.notify(1)
    std_request(front, Msg.SET_IRQ_TYPE, 1, IrqType.NONE)
    assert wait_used(front, 1, 1) == [(head, 1)]
    assert front.mem[status] == 0                     # INVALID


def test_standard_forged_event_returns_a_descriptor_never_posted(standard):
    from virtio_gpio.devices.standard import IrqType, Msg
    front, backend, device = standard
    assert std_request(front, Msg.SET_IRQ_TYPE, 1, IrqType.EDGE_BOTH) == b"\0\0"
    head, _ = front.post_chain(1, struct.pack("<H", 1), 1)
    front.notify(1)
    assert vu.send_control(backend.control_path,
                           {"cmd": "inject", "fault": "forged_event"}) == {"ok": True}
    ((forged, used_len),) = wait_used(front, 1, 1)
    assert forged != head and used_len == 1
    assert device.held_irq_lines().keys() == {1}   # the real one still held


def test_standard_delayed_reply_released_with_the_next_request(standard):
    # A DELAYed standard reply keeps its chain until the next requests
    # arrive; then both chains come back, the late one first.
    from virtio_gpio.devices.standard import Msg
    front, backend, device = standard
    device.lines[0].value = 1
    device.inject(Fault.DELAY)
    late, late_in = front.post_chain(0, struct.pack("<HHI", Msg.GET_VALUE, 0, 0), 2)
    front.notify(0)
    time.sleep(0.2)
    assert front.used(0) == []
    head, in_addr = front.post_chain(0, struct.pack("<HHI", Msg.GET_VALUE, 0, 0), 2)
    front.notify(0)
    assert wait_used(front, 0, 2) == [(late, 2), (head, 2)]
    assert bytes(front.mem[late_in:late_in + 2]) == b"\0\x01"


def test_standard_noop_handler_answers_without_the_model(standard):
    from virtio_gpio.devices.standard import Msg
    front, backend, device = standard
    device.lines[1].value = 1
    assert vu.send_control(backend.control_path, {"cmd": "noop"}) == {"ok": True}
    seen = device.requests_seen
    assert std_request(front, Msg.GET_VALUE, 1) == b"\0\0"   # not the model's 1
    assert device.requests_seen == seen
    vu.send_control(backend.control_path, {"cmd": "noop", "on": False})
    assert std_request(front, Msg.GET_VALUE, 1) == b"\0\x01"


def hold_irq_buffer(front, device, line):
    """Arm ``line`` for both edges and wait until the device holds its buffer."""
    from virtio_gpio.devices.standard import IrqType, Msg
    std_request(front, Msg.SET_IRQ_TYPE, line, IrqType.EDGE_BOTH)
    front.post_chain(1, struct.pack("<H", line), 1)
    front.notify(1)
    deadline = time.monotonic() + 5
    while line not in device.held_irq_lines():
        assert time.monotonic() < deadline
        time.sleep(0.001)


def test_standard_stopped_eventq_forgets_held_irq_buffers(standard):
    # A reset driver's eventq chains are gone: the next driver's buffer for
    # the same line must be held, not refused as a second one.
    front, backend, device = standard
    hold_irq_buffer(front, device, 1)
    front.send(vu.Request.GET_VRING_BASE, struct.pack("<II", 1, 0))
    front.recv()
    assert device.held_irq_lines() == {}


def test_ring_restarted_after_stop_keeps_serving(standard):
    # QEMU stops and restarts the rings when the guest driver resets the
    # device (module reload). The old kick fd must leave the backend's
    # selector before it is closed: its number returns with the new one.
    from virtio_gpio.devices.standard import Msg
    front, backend, device = standard
    device.lines[2].value = 1
    old_kick = backend.backends[0].conn.vrings[0].kick_fd
    assert old_kick in backend.selector.get_map()
    front.send(vu.Request.GET_VRING_BASE, struct.pack("<II", 0, 0))
    _, base = struct.unpack("<II", front.recv())
    assert old_kick not in backend.selector.get_map()
    front.send(vu.Request.SET_VRING_BASE, struct.pack("<II", 0, base))
    ring = front.rings[0]
    front.send(vu.Request.SET_VRING_ADDR, struct.pack(
        "<IIQQQQ", 0, 0, BASE + ring["desc"], BASE + ring["used"],
        BASE + ring["avail"], 0))
    os.close(front.kick[0])
    front.kick[0] = os.eventfd(0, os.EFD_NONBLOCK)
    front.send(vu.Request.SET_VRING_KICK, struct.pack("<Q", 0), fds=[front.kick[0]])
    r, w = os.pipe()
    os.set_blocking(r, False)
    front.call[0] = r
    front.send(vu.Request.SET_VRING_CALL, struct.pack("<Q", 0), fds=[w])
    os.close(w)
    front.send(vu.Request.SET_VRING_ENABLE, struct.pack("<II", 0, 1), need_reply=True)
    assert struct.unpack("<Q", front.recv())[0] == 0
    assert std_request(front, Msg.GET_VALUE, 2) == b"\0\x01"


def test_standard_ring_set_up_anew_forgets_held_irq_buffers(standard):
    # UML's virtio_uml re-initialises the rings after a driver reset with
    # SET_VRING_BASE and no GET_VRING_BASE before it.
    front, backend, device = standard
    hold_irq_buffer(front, device, 1)
    front.send(vu.Request.SET_VRING_BASE, struct.pack("<II", 1, 0),
               need_reply=True)
    assert struct.unpack("<Q", front.recv())[0] == 0
    assert device.held_irq_lines() == {}


@pytest.mark.parametrize("message", [b"[]\n", b"null\n", b"42\n", b"\"x\"\n",
                                     b"{not json\n", b"{\"cmd\": 7}\n",
                                     b"{\"cmd\": \"set_input\"}\n",
                                     b"{\"cmd\": \"set_input\", \"line\": [], \"level\": 1}\n"])
def test_a_bad_control_message_gets_an_error_and_the_device_serves_on(
        standard, message):
    from virtio_gpio.devices.standard import Msg
    front, backend, device = standard
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(backend.control_path)
        sock.sendall(message)
        answer = json.loads(vu.control.read_line(sock))
    assert set(answer) == {"error"}
    assert std_request(front, Msg.GET_VALUE, 0) == b"\0\0"
