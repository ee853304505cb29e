"""virtio_gpio.host: the client scripts and tests drive a backend with,
against a real server in a thread and a front end playing the guest."""

import errno
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from virtio_gpio.devices.base import Fault
from virtio_gpio.host import (Bench, BenchError, ControlSocketError,
                              InputResult, StampedEvent)
from virtio_gpio.wire.standard import Direction, Msg
from fake_sockets import one_connection
from two_devices import two_devices
from vhost_front_end import std_request, wait_used


@pytest.fixture
def served(tmp_path):
    """(front end, server, models, server thread) of two_devices."""
    with two_devices(tmp_path) as bench:
        yield bench.front, bench.server, bench.devices, bench.thread


def test_devices_lists_every_device(served):
    front, server, devices, _ = served
    assert Bench(server.control_path).devices() == [
        {"name": "a", "socket": server.backends[0].socket_path, "lines": 2,
         "connected": True},
        {"name": "b", "socket": server.backends[1].socket_path, "lines": 3,
         "connected": False}]


def test_the_bench_device_is_the_default_and_a_call_may_name_another(served):
    front, server, devices, _ = served
    bench = Bench(server.control_path, device="a")
    assert bench.state()["device"] == "a"
    assert bench.state(device="b")["device"] == "b"
    assert bench.state(device=1)["device"] == "b"   # an index names one too
    with pytest.raises(BenchError, match="several devices"):
        Bench(server.control_path).state()


def test_set_input_by_number_and_by_name(served):
    front, server, devices, _ = served
    bench = Bench(server.control_path, device="a")
    before = time.time()
    first = bench.set_input(1, 1)
    assert first.changed and before <= first.time <= time.time()
    again = bench.set_input("button", 1)
    assert isinstance(again, InputResult) and not again.changed
    assert first.time <= again.time <= time.time()
    assert devices[0].lines[1].value == 1
    assert std_request(front, Msg.GET_VALUE, 1) == b"\0\x01"
    assert bench.set_input(2, 1, device="b").changed
    assert devices[1].lines[2].value == 1 and devices[0].lines[0].value == 0


def test_a_line_name_that_is_not_there_says_which_are(served):
    front, server, devices, _ = served
    bench = Bench(server.control_path, device="a")
    with pytest.raises(BenchError, match=r"no line named 'knob'.*led, button"):
        bench.set_input("knob", 1)
    with pytest.raises(BenchError, match=r"b has no line named ''.*none"):
        bench.set_input("", 1, device="b")   # unnamed lines have no name
    with pytest.raises(TypeError):
        bench.set_input(1.0, 1)
    assert bench.line_number("led") == 0 and bench.line_number(7) == 7


@pytest.mark.parametrize("call, complaint", [
    (lambda b: b.set_input(2, 1), "line 2 out of range: a has lines 0..1"),
    (lambda b: b.set_input(-1, 1), "line -1 out of range"),
    (lambda b: b.set_input(1, 2), "'level' must be 0 or 1"),
    (lambda b: b.inject("melt"), "unknown fault 'melt'"),
    (lambda b: b.inject("drop", count=0), "'count' must be 1..1000000"),
    (lambda b: b.state(device="c"), "no device 'c'"),
    (lambda b: b.wait_for(5, 1, timeout=1), "out of range"),
    (lambda b: b.wait_for(0, 1, timeout=-1), "'timeout' must be 0.."),
])
def test_a_refused_call_raises_the_backends_message(served, call, complaint):
    front, server, devices, _ = served
    with pytest.raises(BenchError) as refused:
        call(Bench(server.control_path, device="a"))
    assert complaint in str(refused.value)
    assert devices[0].faults == []


def test_an_output_cannot_be_set_from_the_host(served):
    front, server, devices, _ = served
    std_request(front, Msg.SET_DIRECTION, 0, Direction.OUT)
    with pytest.raises(BenchError, match="output"):
        Bench(server.control_path, device="a").set_input("led", 1)


def test_inject_makes_the_next_reply_misbehave(served):
    front, server, devices, _ = served
    Bench(server.control_path, device="b").inject("drop", count=2)
    assert [f.value for f in devices[1].faults] == ["drop", "drop"]
    Bench(server.control_path).inject(Fault.DELAY, device="b")
    assert devices[1].faults[-1] is Fault.DELAY
    assert devices[0].faults == []


def test_noop_puts_the_floor_under_the_guest_and_takes_it_away(served):
    front, server, devices, _ = served
    bench = Bench(server.control_path, device="a")
    bench.set_input("button", 1)
    bench.noop()
    assert std_request(front, Msg.GET_VALUE, 1) == b"\0\0"    # the floor
    bench.noop(on=False)
    assert std_request(front, Msg.GET_VALUE, 1) == b"\0\x01"  # the model


def test_stall_holds_the_guests_requests_until_resumed(served):
    front, server, devices, _ = served
    bench = Bench(server.control_path, device="a")
    bench.stall()
    head, _ = front.post_chain(0, struct.pack("<HHI", Msg.GET_VALUE, 1, 0),
                               2)
    front.notify(0)
    time.sleep(0.3)
    assert front.used(0) == []
    assert bench.state()["stalled"] is True
    bench.stall(on=False)
    assert wait_used(front, 0, 1) == [(head, 2)]
    assert bench.state()["stalled"] is False


def test_wait_for_answers_at_once_when_the_line_is_there(served):
    front, server, devices, _ = served
    started = time.monotonic()
    when = Bench(server.control_path, device="a").wait_for("led", 0,
                                                           timeout=5)
    assert time.monotonic() - started < 2
    assert abs(when - time.time()) < 5


def test_wait_for_times_out(served):
    front, server, devices, _ = served
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="did not reach 1 within 0.3 s"):
        Bench(server.control_path, device="a").wait_for("button", 1,
                                                        timeout=0.3)
    assert 0.25 < time.monotonic() - started < 5


def test_wait_for_returns_when_the_guest_drives_the_line(served):
    front, server, devices, _ = served
    bench = Bench(server.control_path, device="a")
    got = {}

    def wait():
        try:
            got["time"] = bench.wait_for("led", 1, timeout=10)
        except Exception as exc:  # noqa: BLE001 - the test reports it
            got["error"] = exc

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.2)
    assert waiter.is_alive(), got    # nothing drove it yet
    std_request(front, Msg.SET_DIRECTION, 0, Direction.OUT)
    assert waiter.is_alive(), got    # an output, still at 0
    driven = time.time()
    std_request(front, Msg.SET_VALUE, 0, 1)
    waiter.join(5)
    assert not waiter.is_alive()
    assert "error" not in got, got
    assert driven - 0.5 <= got["time"] <= time.time()


def test_wait_for_refuses_a_timeout_it_cannot_wait(served):
    front, server, devices, _ = served
    with pytest.raises(ValueError):
        Bench(server.control_path, device="a").wait_for(0, 1, float("inf"))


def test_events_hear_the_guest_and_the_host_of_the_bench_device(served):
    front, server, devices, _ = served
    bench = Bench(server.control_path, device="a")
    with bench.events(timeout=5) as events:
        assert events.subscribed == ["a"]
        std_request(front, Msg.SET_DIRECTION, 0, Direction.OUT)
        std_request(front, Msg.SET_VALUE, 0, 1)
        bench.set_input(0, 1, device="b")       # not the bench's device
        bench.set_input("button", 1)
        heard = [next(events) for _ in range(4)]
    assert all(isinstance(event, StampedEvent) for event in heard)
    assert [(e.device, e.line, e.name, e.kind, e.value) for e in heard] == [
        ("a", 0, "led", "direction", "out"), ("a", 0, "led", "drive", 0),
        ("a", 0, "led", "drive", 1), ("a", 1, "button", "input", 1)]
    times = [event.time for event in heard]
    assert times == sorted(times) and abs(times[0] - time.time()) < 60
    assert heard[-1].raw["event"] == "input"
    with pytest.raises(StopIteration):
        next(events)                            # closed with the block


def test_events_of_every_device_and_of_some(served):
    front, server, devices, _ = served
    with Bench(server.control_path).events(timeout=5) as every:
        assert every.subscribed == ["a", "b"]
        Bench(server.control_path, device="b").set_input(2, 1)
        event = next(every)
        assert (event.device, event.line, event.name, event.kind) == \
            ("b", 2, "", "input")
    with Bench(server.control_path, device="a").events(["b"],
                                                       timeout=5) as some:
        assert some.subscribed == ["b"]
    with pytest.raises(ValueError):
        Bench(server.control_path).events([])
    with pytest.raises(BenchError, match="no device 'z'"):
        Bench(server.control_path).events(["z"])


def test_an_event_stream_times_out_and_carries_on(served):
    front, server, devices, _ = served
    bench = Bench(server.control_path, device="a")
    with bench.events(timeout=0.2) as events:
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="no line event within 0.2 s"):
            next(events)
        assert 0.15 < time.monotonic() - started < 5
        bench.set_input(1, 1)
        assert next(events).kind == "input"


def test_stop_ends_the_backend_and_its_event_streams(served):
    front, server, devices, thread = served
    bench = Bench(server.control_path, device="a")
    events = bench.events(timeout=5)
    bench.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert list(events) == []          # the stream ends, no error
    with pytest.raises(ControlSocketError) as gone:
        bench.state()
    assert isinstance(gone.value, OSError)
    assert gone.value.errno == errno.ENOENT
    assert str(gone.value) == ("cannot connect to the control socket %s: "
                               "No such file or directory"
                               % server.control_path)


def test_a_backend_that_does_not_answer_in_time(tmp_path):
    path = str(tmp_path / "mute.ctl")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as mute:
        mute.bind(path)
        mute.listen(4)       # connections are queued, never answered
        started = time.monotonic()
        with pytest.raises(ControlSocketError, match="mute.ctl: no answer "
                           "within 0.2 s"):
            Bench(path, timeout=0.2).devices()
        assert time.monotonic() - started < 5


def _answer_once(path, reply):
    def answer(conn):
        conn.recv(65536)
        conn.sendall(reply)

    return one_connection(path, answer)


@pytest.mark.parametrize("reply, error, complaint", [
    (b"", ControlSocketError, "closed without an answer"),
    (b"<html>\n", BenchError, "not a JSON answer"),
    (b"[1, 2]\n", BenchError, "not a JSON object"),
])
def test_an_answer_that_is_no_answer(tmp_path, reply, error, complaint):
    path = str(tmp_path / "odd.ctl")
    thread = _answer_once(path, reply)
    with pytest.raises(error, match=complaint):
        Bench(path, timeout=5).devices()
    thread.join(5)


def test_the_client_loads_nothing_else_of_the_package():
    # Scripts and guest runners import it where neither the compiled core
    # nor the backend's modules are wanted.
    proc = subprocess.run(
        [sys.executable, "-c", "import sys, virtio_gpio.host; print(sorted("
         "m for m in sys.modules if m.startswith('virtio_gpio')))"],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['virtio_gpio', 'virtio_gpio.host']"
