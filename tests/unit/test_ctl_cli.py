"""vgpio-ctl against a running server: what it prints, its exit status
(0 done, 1 wait timed out, 2 refused), and one line for every error."""

import contextlib
import json
import signal
import struct
import subprocess
import sys
import threading
import time

import pytest

from two_devices import two_devices
from virtio_gpio.host import Bench
from virtio_gpio.vhost_user import control_cli
from virtio_gpio.wire.standard import Direction, Msg
from vhost_front_end import std_request, wait_used

# Ctrl-C must end watch with 0, also when the run that starts these tests
# was itself started in the background, where SIGINT comes in ignored and
# a child would inherit that.
RUN_CTL = ("import signal, sys\n"
           "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
           "from virtio_gpio.vhost_user.control_cli import main\n"
           "sys.exit(main(sys.argv[1:]))\n")


@pytest.fixture
def served(tmp_path):
    with two_devices(tmp_path) as bench:
        yield bench


def ctl(served, *args, capsys):
    """vgpio-ctl in this process: (exit status, stdout, stderr)."""
    try:
        code = control_cli.main(["--control", served.control] + list(args))
    except SystemExit as exc:      # argparse: --help, or a usage error
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@contextlib.contextmanager
def spawn_ctl(served, *args):
    """vgpio-ctl as a process, killed after the block; one that hangs is
    killed after 20 s, so that a read from it ends rather than the run."""
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_CTL, "--control", served.control]
        + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    watchdog = threading.Timer(20, proc.kill)
    watchdog.start()
    try:
        yield proc
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_set_input_says_what_changed(served, capsys):
    assert ctl(served, "-d", "a", "set-input", "1", "1", capsys=capsys) == \
        (0, "line 1 button: 0 -> 1\n", "")
    assert ctl(served, "-d", "a", "set-input", "button", "1",
               capsys=capsys) == (0, "line 1 button: already 1\n", "")
    assert ctl(served, "--device", "b", "set-input", "2", "1",
               capsys=capsys) == (0, "line 2: 0 -> 1\n", "")
    assert served.devices[0].lines[1].value == 1
    assert served.devices[1].lines[2].value == 1


def test_state_devices_inject_and_stop(served, capsys):
    ctl(served, "-d", "a", "set-input", "1", "1", capsys=capsys)
    code, out, _ = ctl(served, "-d", "a", "state", capsys=capsys)
    assert code == 0
    assert out.splitlines()[1].split() == [
        "line", "1", '"button"', "direction=in", "value=1", "irq=none"]
    assert "connected: True, connections: 1" in out
    code, out, _ = ctl(served, "-d", "a", "state", "--json", capsys=capsys)
    assert code == 0 and json.loads(out)["lines"][1]["value"] == 1
    code, out, _ = ctl(served, "devices", capsys=capsys)
    assert code == 0 and out.splitlines() == [
        "a: 2 lines on %s, connected" % served.server.backends[0].socket_path,
        "b: 3 lines on %s, no front end"
        % served.server.backends[1].socket_path]
    code, out, _ = ctl(served, "devices", "--json", capsys=capsys)
    assert [d["name"] for d in json.loads(out)] == ["a", "b"]
    assert ctl(served, "-d", "b", "inject", "drop", "2", capsys=capsys) == \
        (0, "the next 2 replies: drop\n", "")
    assert [f.value for f in served.devices[1].faults] == ["drop", "drop"]
    assert ctl(served, "stop", capsys=capsys) == (0, "the backend stops\n",
                                                 "")
    served.thread.join(5)
    assert not served.thread.is_alive()


def test_stall_holds_the_guests_requests_and_stall_off_answers_them(
        served, capsys):
    assert ctl(served, "-d", "a", "stall", capsys=capsys) == \
        (0, "the device stalls: requests wait unanswered\n", "")
    head, _ = served.front.post_chain(
        0, struct.pack("<HHI", Msg.GET_VALUE, 1, 0), 2)
    served.front.notify(0)
    time.sleep(0.3)
    assert served.front.used(0) == []
    code, out, _ = ctl(served, "-d", "a", "state", capsys=capsys)
    assert code == 0 and "stalled: True" in out
    assert ctl(served, "-d", "a", "stall", "off", capsys=capsys) == \
        (0, "the device answers again\n", "")
    assert wait_used(served.front, 0, 1) == [(head, 2)]
    code, out, _ = ctl(served, "-d", "a", "state", capsys=capsys)
    assert code == 0 and "stalled: False" in out
    assert ctl(served, "-d", "b", "stall", "on", capsys=capsys)[0] == 0
    assert served.server.backend("b").stalled


@pytest.mark.parametrize("args, complaint", [
    (["-d", "a", "set-input", "-1", "0"], "lines are numbered from 0"),
    (["-d", "a", "set-input", "5", "1"],
     "vgpio-ctl: line 5 out of range: a has lines 0..1"),
    (["-d", "a", "set-input", "knob", "1"], "no line named 'knob'"),
    (["-d", "a", "set-input", "1", "2"], "invalid choice"),
    (["-d", "a", "inject", "drop", "-3"], "count -3"),
    (["-d", "a", "inject", "drop", "0"], "count 0"),
    (["-d", "a", "inject", "melt"], "unknown fault 'melt'"),
    (["-d", "a", "wait", "0", "1"], "--timeout"),
    (["-d", "a", "wait", "0", "1", "--timeout", "-1"], "timeout -1"),
    (["-d", "a", "wait", "0", "1", "--timeout", "inf"], "timeout inf"),
    (["-d", "a", "wait", "9", "1", "--timeout", "1"], "out of range"),
    (["set-input", "1", "1"], "several devices"),
    (["-d", "c", "state"], "no device 'c'"),
    (["-d", "a", "stall", "maybe"], "invalid choice"),
    (["stall"], "several devices"),
    (["frobnicate"], "invalid choice"),
    ([], "required"),
])
def test_bad_input_is_one_line_and_status_2(served, capsys, args, complaint):
    before = [(line.value, line.direction) for line in served.devices[0].lines]
    code, out, err = ctl(served, *args, capsys=capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and complaint in err, err
    assert err.startswith("vgpio-ctl")
    assert [(line.value, line.direction)
            for line in served.devices[0].lines] == before
    assert served.devices[0].faults == []


def test_an_output_line_is_refused(served, capsys):
    std_request(served.front, Msg.SET_DIRECTION, 0, Direction.OUT)
    code, out, err = ctl(served, "-d", "a", "set-input", "led", "1",
                         capsys=capsys)
    assert (code, out) == (2, "") and "output" in err and \
        err.count("\n") == 1


def test_no_backend_is_status_2_naming_the_socket(tmp_path, capsys):
    code = control_cli.main(["--control", str(tmp_path / "none.ctl"),
                             "state"])
    assert code == 2
    assert capsys.readouterr().err == (
        "vgpio-ctl: cannot connect to the control socket %s: "
        "No such file or directory\n" % (tmp_path / "none.ctl"))


def test_wait_is_0_when_the_guest_drives_the_line(served, capsys):
    def drive():
        time.sleep(0.3)
        std_request(served.front, Msg.SET_DIRECTION, 0, Direction.OUT)
        std_request(served.front, Msg.SET_VALUE, 0, 1)

    driver = threading.Thread(target=drive)
    started = time.monotonic()
    driver.start()
    code, out, err = ctl(served, "-d", "a", "wait", "led", "1", "--timeout",
                         "10", capsys=capsys)
    elapsed = time.monotonic() - started
    driver.join(5)
    assert (code, out, err) == (0, "line 0 led: at 1\n", "")
    assert 0.25 < elapsed < 5


def test_wait_is_0_at_once_when_the_line_is_there(served, capsys):
    started = time.monotonic()
    assert ctl(served, "-d", "a", "wait", "1", "0", "--timeout", "10",
               capsys=capsys) == (0, "line 1 button: at 0\n", "")
    assert time.monotonic() - started < 2


def test_wait_is_1_on_timeout(served, capsys):
    started = time.monotonic()
    code, out, err = ctl(served, "-d", "a", "wait", "1", "1", "--timeout",
                         "0.3", capsys=capsys)
    assert 0.25 < time.monotonic() - started < 5
    assert (code, out) == (1, "")
    assert err == "vgpio-ctl: line 1 button did not reach 1 within 0.3 s\n"


def _watching(proc):
    """Wait for watch to say it listens: events before that are not its."""
    line = proc.stderr.readline()
    assert line.startswith("vgpio-ctl: watching"), line + proc.stderr.read()
    return line


def test_watch_prints_events_and_ends_with_0_on_ctrl_c(served):
    with spawn_ctl(served, "-d", "a", "watch") as proc:
        assert _watching(proc) == "vgpio-ctl: watching a; Ctrl-C ends\n"
        Bench(served.control, device="b").set_input(0, 1)   # not watched
        std_request(served.front, Msg.SET_DIRECTION, 0, Direction.OUT)
        Bench(served.control, device="a").set_input("button", 1)
        first, second, third = (proc.stdout.readline() for _ in range(3))
        proc.send_signal(signal.SIGINT)
        code = proc.wait(10)
        rest = proc.stderr.read()
    assert first.split()[1:] == ["a", "line", "0", "led:", "guest", "sets",
                                 "direction", "out"]
    assert second.split()[1:] == ["a", "line", "0", "led:", "guest",
                                  "drives", "0"]
    assert third.split()[1:] == ["a", "line", "1", "button:", "host", "sets",
                                 "input", "1"]
    assert time.strptime(first.split()[0].split(".")[0], "%H:%M:%S")
    assert code == 0
    assert rest == ""


def test_watch_json_streams_the_raw_events_until_the_backend_stops(served):
    with spawn_ctl(served, "watch", "--json") as proc:
        assert _watching(proc) == "vgpio-ctl: watching a, b; Ctrl-C ends\n"
        Bench(served.control, device="b").set_input(2, 1)
        Bench(served.control, device="a").set_input(1, 1)
        events = [json.loads(proc.stdout.readline()) for _ in range(2)]
        Bench(served.control).stop()
        code = proc.wait(10)
        rest = proc.stderr.read()
    assert [(e["device"], e["line"], e["name"], e["event"], e["value"])
            for e in events] == [("b", 2, "", "input", 1),
                                 ("a", 1, "button", "input", 1)]
    assert all(abs(e["time"] - time.time()) < 60 for e in events)
    assert code == 0
    assert rest == "vgpio-ctl: the backend stopped\n"
