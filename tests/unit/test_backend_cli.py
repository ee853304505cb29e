"""vgpio-vhost-user's command line: every bad input is one line and exit
status 2 before anything is served, with nothing left behind; a second
backend never takes a live one's socket; --state keeps the lines across
restarts; --trace records them."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from vhost_front_end import FrontEnd, std_request
from virtio_gpio.vhost_user import cli
from virtio_gpio.vhost_user.control import send_control, spawn
from virtio_gpio.wire.standard import Direction, Msg

PREFIX = "vgpio-vhost-user: error: "

SCRIPTS = {
    "beyond.txt": "1.0 9 1\n",
    "level7.txt": "0.5 1 7\n",
    "negative.txt": "# comment\n-1 1 1\n",
    "nan.txt": "nan 1 1\n",
    "inf.txt": "inf 0 1\n",
    "words.txt": "soon 1 1\n",
}


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A directory holding the input files, and the current one."""
    for name, text in SCRIPTS.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "latin1.txt").write_bytes(b"0.5 1 1 # caf\xe9\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_main(argv, capsys):
    """main()'s exit status and stderr; argparse's own errors exit."""
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


# Each case: the arguments after "-s v.sock --control v.ctl", and what the
# one line must say.
BAD = [
    (["--lines", "2", "--script", "beyond.txt"],
     "beyond.txt:1: line 9 out of range: the device has lines 0..1"),
    (["--lines", "2", "--script", "level7.txt"],
     "level7.txt:1: level 7: LEVEL is 0 or 1"),
    (["--lines", "2", "--script", "negative.txt"],
     "negative.txt:2: time -1: SECONDS is a number >= 0"),
    (["--lines", "2", "--script", "nan.txt"], "nan.txt:1: time nan"),
    (["--script", "inf.txt"], "inf.txt:1: time inf"),
    (["--script", "words.txt"], "words.txt:1: expected 'SECONDS LINE LEVEL'"),
    (["--script", "missing.txt"],
     "--script missing.txt: cannot read it: No such file or directory"),
    (["--script", "latin1.txt"],
     "--script latin1.txt:1: not UTF-8 text (byte 0xe9)"),
    (["--protocol", "standard", "--lines", "0"],
     "--lines 0: a device has 1..65535 lines"),
    (["--protocol", "standard", "--lines", "70000"],
     "--lines 70000: a device has 1..65535 lines"),
    (["--protocol", "id30", "--lines", "0"], "--lines 0: a device has 1..65535"),
    (["--protocol", "id30", "--lines", "-1"], "--lines -1: a device has 1.."),
    (["--protocol", "id30", "--lines", "70000"], "--lines 70000: a device"),
    (["--protocol", "id30", "--name", "n" * 33],
     "33 bytes; the config space holds at most 32"),
    (["--protocol", "id30", "--name", "\u00e9" * 17], "34 bytes"),
    (["--protocol", "id30", "--name", "a%sb"], "holds '%'"),
    (["--name", "panel"], "--name applies to the 2020 protocol: add "
                          "--protocol id30"),
    (["--names", ""], "--names '': no names; --lines N serves N unnamed"),
    (["--names", "led,a/b"], "line 1's name 'a/b' holds '/': the guest "
                             "driver leaves such names out"),
    (["--names", "%s%px"], "line 0's name '%s%px' holds '%'"),
    (["--names", "a\0b"], "holds a NUL, not printable ASCII"),
    (["--names", "x\nforged"], "holds '\\n', not printable ASCII"),
    (["--names", "caf\u00e9"], "not printable ASCII"),
    (["--names", "a\udcffb", "--unchecked-names"], "not valid UTF-8"),
    (["--fault", "drop:-3"], "--fault drop:-3: COUNT is a whole number "
                             "1..1000000"),
    (["--fault", "drop:0"], "COUNT is a whole number"),
    (["--fault", "drop:\u00b2"], "COUNT is a whole number"),
    (["--fault", "bogus"], "--fault bogus: unknown fault; the faults are "
                           "drop, delay"),
    (["--protocol", "id30", "--fault", "forged_event"],
     "--fault forged_event: "),
    (["--fault", "reorder"], "--fault reorder: "),
    (["--loopback", "0:0"], "--loopback 0:0: a line cannot drive itself"),
    (["--loopback", "9:1"], "--loopback 9:1: line 9 out of range: the "
                            "device has lines 0..7"),
    (["--loopback", "x"], "--loopback x: expected OUT:IN, two line numbers"),
    (["--loopback=-1:2"], "--loopback -1:2: expected OUT:IN"),
    (["--loopback", "0:1", "--loopback", "0:2"],
     "--loopback 0:2: line 0 already drives line 1"),
    (["--protocol", "id30", "--loopback", "0:1"],
     "--loopback applies to the standard protocol only"),
    (["--protocol", "id30", "--no-irq"], "--no-irq applies to the standard"),
    (["--config-fault", "version2"], "--config-fault version2: the "
                                     "standard device's config has no such "
                                     "field"),
    (["-c", "0"], "-c 0: the socket count is 1 or more"),
    (["--config", "bench.toml"], "-s cannot be given with --config"),
    (["--state", "nowhere/state.json"], "--state nowhere/state.json: "
                                        "directory"),
    (["--trace", "nowhere/t.vcd"], "--trace nowhere/t.vcd: directory"),
    (["--state", "v.ctl"], "--state v.ctl: the same path as --control v.ctl"),
    # argparse's own refusals, made one line too
    (["--socket", "other.sock"], "--socket is now -s/--socket-path"),
    (["--protocol", "seed"], "argument --protocol: invalid choice: 'seed'"),
    (["--lines", "2", "--names", "a,b"], "not allowed with argument"),
    (["--lines", "many"], "argument --lines: invalid int value"),
]


@pytest.mark.parametrize("args, says", BAD,
                         ids=["%d-%s" % (n, case[0][0].lstrip("-"))
                              for n, case in enumerate(BAD)])
def test_a_bad_input_is_one_line_and_status_2_with_nothing_left(
        workdir, capsys, args, says):
    before = sorted(os.listdir(workdir))
    code, err = run_main(["-s", "v.sock", "--control", "v.ctl"] + args,
                         capsys)
    assert code == 2
    assert err.startswith(PREFIX) and err.count("\n") == 1, err
    assert says in err, err
    assert sorted(os.listdir(workdir)) == before


@pytest.mark.parametrize("args, says", [
    ([], "no device: give -s PATH (or --config FILE)"),
    (["-c", "2"], "no device: give -s PATH"),
    (["-s", "long" * 30 + ".sock"], "too long for a UNIX socket"),
    (["-s", "same", "--control", "same"],
     "--control same: the same path as -s same"),
    (["-s", "v.sock", "-c", "3", "--control", "v.sock1"],
     "--control v.sock1: the same path as -s v.sock1"),
])
def test_sockets_that_cannot_be_made(workdir, capsys, args, says):
    code, err = run_main(args, capsys)
    assert (code, err.count("\n")) == (2, 1) and says in err, err
    assert sorted(os.listdir(workdir)) == sorted(list(SCRIPTS) +
                                                 ["latin1.txt"])


def backend_process(*args, timeout=30):
    return subprocess.run([sys.executable, "-m", "virtio_gpio.vhost_user"]
                          + list(args), capture_output=True, text=True,
                          timeout=timeout)


def test_a_missing_directory_is_one_line_from_the_real_command(tmp_path):
    proc = backend_process("-s", "/nonexistent/dir/v.sock")
    assert proc.returncode == 2
    assert proc.stderr == (PREFIX + "-s /nonexistent/dir/v.sock: directory "
                           "/nonexistent/dir does not exist\n")
    proc = backend_process("-s", str(tmp_path / "v.sock"), "--control",
                           str(tmp_path / "missing" / "v.ctl"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "missing does not exist" in proc.stderr
    assert os.listdir(tmp_path) == []     # no -s socket left behind


def test_a_file_in_the_sockets_place_is_kept(tmp_path):
    (tmp_path / "v.sock").write_text("notes")
    proc = backend_process("-s", str(tmp_path / "v.sock"), "--control",
                           str(tmp_path / "v.ctl"))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "is not a socket" in proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["v.sock"]
    assert (tmp_path / "v.sock").read_text() == "notes"


@pytest.fixture
def started(tmp_path):
    """Backend processes started by a test, killed at its end."""
    procs = []

    def start(*args, sock="v.sock", ctl="v.ctl"):
        proc = spawn(str(tmp_path / sock), str(tmp_path / ctl), list(args))
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_standard_protocol_is_the_default(tmp_path, started):
    started("--names", "a,b")
    ctl = str(tmp_path / "v.ctl")
    # only a standard line has an interrupt type
    assert send_control(ctl, {"cmd": "state"})["lines"][1] == {
        "name": "b", "direction": "in", "value": 0, "irq": "none"}
    started("--names", "a,b", "--protocol", "id30", sock="i.sock",
            ctl="i.ctl")
    assert "irq" not in send_control(str(tmp_path / "i.ctl"),
                                     {"cmd": "state"})["lines"][1]


def test_socket_count_serves_devices_named_as_rust_vmm_does(tmp_path):
    # spawn() waits for -s PATH itself, which -c never makes
    proc = subprocess.Popen([sys.executable, "-m", "virtio_gpio.vhost_user",
                             "-s", str(tmp_path / "v.sock"), "-c", "3",
                             "--lines", "2", "--control",
                             str(tmp_path / "v.ctl")])
    try:
        wait_for(lambda: os.path.exists(tmp_path / "v.ctl"), timeout=20)
        check_socket_count(tmp_path)
    finally:
        proc.kill()
        proc.wait()


def check_socket_count(tmp_path):
    devices = send_control(str(tmp_path / "v.ctl"),
                           {"cmd": "devices"})["devices"]
    assert [(d["name"], d["socket"], d["lines"]) for d in devices] == [
        ("gpio%d" % n, str(tmp_path / ("v.sock%d" % n)), 2)
        for n in range(3)]
    for n in range(3):
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(tmp_path / ("v.sock%d" % n)))


def test_a_second_backend_never_takes_a_live_socket(tmp_path, started):
    first = started("--lines", "2")
    sock, ctl = str(tmp_path / "v.sock"), str(tmp_path / "v.ctl")
    second = backend_process("-s", sock, "--control",
                             str(tmp_path / "w.ctl"))
    assert second.returncode == 2
    assert second.stderr == (PREFIX + "cannot listen on %s: another process "
                             "listens on it\n" % sock)
    assert not os.path.exists(tmp_path / "w.ctl")
    # the first serves on, on both sockets
    assert send_control(ctl, {"cmd": "set_input", "line": 1,
                              "level": 1})["ok"]
    with socket.socket(socket.AF_UNIX) as probe:
        probe.connect(sock)
    # killed, it leaves its sockets behind; a new backend replaces them
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert os.path.exists(sock) and os.path.exists(ctl)
    started("--lines", "2")
    # spawn() returned at once: the stale files were already there
    wait_for(lambda: accepts(ctl))
    assert send_control(ctl, {"cmd": "state"})["lines"][1]["value"] == 0
    with socket.socket(socket.AF_UNIX) as probe:
        probe.connect(sock)


def accepts(path):
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(path)
        except ConnectionRefusedError:
            return False
    return True


# -- --state -----------------------------------------------------------------------


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
    return time.monotonic()


def saved_lines(path):
    try:
        with open(path) as f:
            return json.load(f)["devices"][0]["lines"]
    except (OSError, ValueError):
        return None


def test_state_survives_a_killed_backend(tmp_path, started):
    state = str(tmp_path / "lines.json")
    first = started("--lines", "3", "--state", state)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(tmp_path / "v.sock"))
    sock.settimeout(5)
    front = FrontEnd(sock)
    front.handshake()
    assert std_request(front, Msg.SET_VALUE, 0, 1) == b"\0\0"
    assert std_request(front, Msg.SET_DIRECTION, 0, Direction.OUT) == b"\0\0"
    send_control(str(tmp_path / "v.ctl"), {"cmd": "set_input", "line": 2,
                                           "level": 1})
    changed = time.monotonic()
    # written while serving, within the 100 ms it waits (and some slack)
    written = wait_for(lambda: (saved_lines(state) or [{}] * 3)[2].get(
        "value") == 1)
    assert written - changed < 1.0
    assert saved_lines(state)[0] == {"direction": "out", "value": 1,
                                     "out_value": 1}
    first.send_signal(signal.SIGKILL)
    first.wait()
    sock.close()
    assert sorted(os.listdir(tmp_path)) == ["lines.json", "v.ctl", "v.sock"]
    second = started("--lines", "3", "--state", state)
    wait_for(lambda: accepts(str(tmp_path / "v.ctl")))
    lines = send_control(str(tmp_path / "v.ctl"), {"cmd": "state"})["lines"]
    assert [(l["direction"], l["value"]) for l in lines] == [
        ("out", 1), ("in", 0), ("in", 1)]
    second.send_signal(signal.SIGTERM)
    assert second.wait(10) == 0
    assert saved_lines(state)[2]["value"] == 1
    assert sorted(os.listdir(tmp_path)) == ["lines.json"]


@pytest.mark.parametrize("content, says", [
    ("{not json", "not a line-state file ("),
    ('{"format": "something else"}', "not a line-state file of this backend"),
    ('{"format": "vgpio-vhost-user line state 1", "devices": [{"name": '
     '"gpio0", "protocol": "standard", "lines": [{"direction": "in", '
     '"value": 7}]}]}', "a line of device 'gpio0'"),
    ('{"format": "vgpio-vhost-user line state 1", "devices": [{"name": '
     '"gpio0", "protocol": "standard", "lines": [{"direction": "in", '
     '"value": 0}]}]}', "saved for gpio0 (standard, 1 lines); this backend "
                        "serves gpio0 (standard, 2 lines)"),
    ('{"format": "vgpio-vhost-user line state 1", "devices": [{"name": '
     '"gpio0", "protocol": "id30", "lines": [{"direction": "in", "value": '
     '0}, {"direction": "in", "value": 0}]}]}', "saved for gpio0 (id30"),
])
def test_a_state_file_for_something_else_is_refused(workdir, capsys,
                                                    content, says):
    (workdir / "state.json").write_text(content)
    before = sorted(os.listdir(workdir))
    code, err = run_main(["-s", "v.sock", "--lines", "2", "--state",
                          "state.json"], capsys)
    assert (code, err.count("\n")) == (2, 1), err
    assert says in err and err.rstrip().endswith(
        "delete it (or name another file) to start afresh"), err
    assert sorted(os.listdir(workdir)) == before
    assert (workdir / "state.json").read_text() == content


# -- --trace -----------------------------------------------------------------------


def test_trace_records_the_lines(tmp_path, started):
    trace = tmp_path / "lines.vcd"
    proc = started("--names", "a,b", "--trace", str(trace))
    send_control(str(tmp_path / "v.ctl"), {"cmd": "set_input", "line": 1,
                                           "level": 1})
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    text = trace.read_text()
    (code,) = [line.split()[3] for line in text.splitlines()
               if line.startswith("$var wire 1 ") and line.split()[4] == "b"]
    assert "1" + code in text.splitlines()


def test_trace_without_its_extra_says_what_to_install(workdir, capsys,
                                                      monkeypatch):
    from virtio_gpio.trace import extra
    monkeypatch.setattr(extra, "missing", lambda modules: ["pyvcd"])
    code, err = run_main(["-s", "v.sock", "--trace", "t.vcd"], capsys)
    assert (code, err.count("\n")) == (2, 1)
    assert "pip install 'virtio-gpio[trace]'" in err
    assert not os.path.exists("v.sock") and not os.path.exists("t.vcd")


def test_the_standard_devices_config_faults_from_the_command_line(tmp_path):
    from virtio_gpio.vhost_user import cli

    server, _ = cli._command_line_server(cli.parse_args([
        "-s", str(tmp_path / "s"), "--names", "a,b",
        "--config-fault", "zero_lines"]))
    (backend,) = server.backends
    assert backend.device.config_space()[:2] == b"\0\0"


def test_check_driver_writes_a_report_per_device(tmp_path):
    import json

    from virtio_gpio.vhost_user import cli
    from virtio_gpio.wire.standard import Msg
    from vhost_front_end import FrontEnd, std_request

    args = cli.parse_args(["-s", str(tmp_path / "gpio"), "-c", "2",
                           "--names", "a,b", "--check-driver",
                           str(tmp_path / "driver.json"), "--once"])
    server, _ = cli._command_line_server(args)
    cli._check_drivers(args.check_driver, server.backends)
    server.open()
    import socket
    import threading
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(tmp_path / "gpio0"))
        front = FrontEnd(sock)
        front.handshake()
        std_request(front, Msg.GET_VALUE, 7)      # no line 7
    server.stop()
    thread.join(5)
    report = json.loads((tmp_path / "driver.gpio0.json").read_text())
    failed = [row["id"] for row in report["requirements"]
              if row["verdict"] == "fail"]
    assert failed == ["V-X-1"]
    assert not (tmp_path / "driver.gpio1.json").exists()   # never connected


def test_check_driver_refuses_the_2020_protocol(tmp_path):
    from virtio_gpio.vhost_user import cli
    assert cli.main(["-s", str(tmp_path / "s"), "--protocol", "id30",
                     "--check-driver", str(tmp_path / "r")]) == 2
    assert not (tmp_path / "s").exists()
