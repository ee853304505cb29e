"""Bench files: the shipped examples load, every problem is one message
naming the file, line and key, and a bench served for real drives its
lines on time: generators from the front end's connection, wires across
devices."""

import glob
import itertools
import os
import shutil
import socket
import threading
import time

import pytest

from checkout import ROOT
from vhost_front_end import FrontEnd, std_request, wait_used
from virtio_gpio.testbench import assemble, saved_state, schema
from virtio_gpio.testbench.load import (BenchFileError, Pulse, Sequence,
                                        Square, key_lines, load)
from virtio_gpio.testbench.stimuli import changes
from virtio_gpio.devices import Id30Device
from virtio_gpio.devices.standard import StandardDevice
from virtio_gpio.vhost_user.backend import Backend
from virtio_gpio.vhost_user.control import send_control
from virtio_gpio.wire.standard import IRQ_REQUEST, Direction, IrqType, Msg

EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "benches",
                                         "*.toml")))


def test_there_are_examples():
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_an_example_loads_and_describes_a_bench(path):
    bench = load(path)
    assert bench.devices
    here = os.path.dirname(path)
    for device in bench.devices:
        assert os.path.dirname(device.socket) == here
        assert device.generators or any(
            device.name in (w.source[0], w.target[0]) for w in bench.wires)


def test_the_buttons_and_leds_example_has_what_it_shows():
    bench = load(os.path.join(ROOT, "examples", "benches",
                              "buttons-and-leds.toml"))
    panel, board = bench.devices
    assert (panel.name, board.name) == ("panel", "board")
    assert panel.initial == {2: 1}
    assert panel.generators == [Pulse(3, 1.0, 0.25, 1),
                                Pulse(2, 1.5, 0.1, 0)]
    assert board.generators == [Square(0, 0.1, 0.5, 0.0, None)]
    assert [(w.source, w.target) for w in bench.wires] == [
        (("panel", 0), ("board", 1)), (("panel", 1), ("board", 2))]
    assert bench.control == os.path.join(ROOT, "examples", "benches",
                                         "control.ctl")


# -- what a bad file is told -------------------------------------------------

DEVICE = '[[device]]\nname = "panel"\nsocket = "p.sock"\nlines = ["a", "b"]\n'

BAD_FILES = [
    ("lines = 3 x\n", "bench.toml:1:11: not valid TOML: "),
    (DEVICE + "colour = 1\n", 'bench.toml:5: device "panel", key "colour": '
     'unknown key "colour"; the keys here are name, socket'),
    (DEVICE + "\n[[device.pulse]]\nline = 1\nat = 1\nwidth = 1\n\n"
     "[[device.pulse]]\nline = \"b\"\nat = 2\nwidth = -1\n",
     'bench.toml:14: device "panel", pulse 2, key "width": expected seconds '
     '> 0, got -1'),
    (DEVICE + "[[device.sequence]]\nline = \"zz\"\nsteps = [\n  [0.5, 1],\n"
     "  [1, 0],\n]\n", 'bench.toml:6: device "panel", sequence 1, key '
     '"line": no line named "zz" on device "panel"; its lines are a, b'),
    (DEVICE + "[[device.sequence]]\nline = 0\nsteps = [\n  [0.5, 1],\n"
     "  [1, 7],\n]\n", 'bench.toml:7: device "panel", sequence 1, key '
     '"steps": expected a list of [SECONDS, LEVEL] pairs'),
    (DEVICE + 'protocol = "id30"\ninterrupts = false\n',
     'bench.toml:6: device "panel", key "interrupts": applies to protocol '
     '"standard" only'),
    (DEVICE + 'protocol = "id31"\n', 'bench.toml:5: device "panel", key '
     '"protocol": expected "standard" or "id30", got "id31"'),
    (DEVICE + "[[device.square]]\nline = 1\nperiod = 0.1\n",
     'bench.toml:5: device "panel", square 1: give either count = N or '
     'forever = true'),
    (DEVICE + "[[device.square]]\nline = 1\nperiod = 0.0001\nforever = true\n",
     'bench.toml:7: device "panel", square 1, key "period": expected seconds '
     '>= 0.001'),
    (DEVICE + "[[device.square]]\nline = 1\nperiod = 1\ncount = 2\n"
     "forever = true\n", 'key "count": give either count = N or forever'),
    (DEVICE + "[[device.pulse]]\nline = 1\nat = nan\nwidth = 1\n",
     'key "at": expected seconds >= 0, got NaN'),
    (DEVICE + "[[device.pulse]]\nline = 1\nat = 1\nwidth = inf\n",
     'key "width": expected seconds > 0, got Infinity'),
    (DEVICE + "[[device.pulse]]\nline = 2\nat = 1\nwidth = 1\n",
     'bench.toml:6: device "panel", pulse 1, key "line": line 2 out of '
     'range: device "panel" has lines 0..1'),
    (DEVICE + "[[device.pulse]]\nline = 1\nat = 1\nwidth = 1\nlevel = true\n",
     'key "level": expected 0 or 1, got true'),
    (DEVICE + "initial = { b = 2 }\n", 'bench.toml:5: device "panel", key '
     '"initial": expected a table { LINE = LEVEL'),
    (DEVICE + "initial = { c = 1 }\n", 'key "initial": no line named "c"'),
    (DEVICE.replace('["a", "b"]', '["a", "a"]'), 'bench.toml:4: device '
     '"panel", key "lines": two lines named "a"'),
    (DEVICE.replace('["a", "b"]', '["a", "x/y"]'), 'line 1\'s name "x/y" '
     "holds '/': the guest driver would leave it out"),
    (DEVICE.replace('["a", "b"]', '["a", "x\\u0000"]'), "holds a NUL"),
    (DEVICE.replace('["a", "b"]', '0'), 'key "lines": expected a count '
     '1..65535'),
    (DEVICE.replace('["a", "b"]', '70000'), 'got 70000'),
    (DEVICE.replace('"panel"', '"a.b"'), 'bench.toml:2: device "a.b", key '
     '"name": expected 1 to 32 ASCII letters'),
    (DEVICE.replace('"panel"', '"' + "p" * 33 + '"'), 'expected 1 to 32'),
    (DEVICE.replace('name = "panel"\n', ''), 'bench.toml:1: device 1: key '
     '"name" is missing'),
    (DEVICE + DEVICE, 'bench.toml:6: device "panel", key "name": a second '
     'device named "panel"'),
    (DEVICE + DEVICE.replace('"panel"', '"board"'),
     'bench.toml:7: device "board", key "socket": "p.sock" is the socket of '
     'device "panel" too'),
    ('control = "p.sock"\n' + DEVICE, 'bench.toml:1: key "control": '
     '"p.sock" is the socket of device "panel"'),
    ("", 'bench.toml: no [[device]] table'),
    ("device = 3\n", 'bench.toml:1: key "device": expected [[device]] tables'),
    (DEVICE + '[[wire]]\nfrom = "panel.a"\nto = "board.b"\n',
     'bench.toml:7: wire 1, key "to": no device named "board"; the devices '
     'are panel'),
    (DEVICE + '[[wire]]\nfrom = "panel.a"\nto = "panel.a"\n',
     'wire 1, key "to": a wire from a line to itself'),
    (DEVICE + '[[wire]]\nfrom = "panel"\nto = "panel.b"\n',
     'bench.toml:6: wire 1, key "from": expected "DEVICE.LINE"'),
    (DEVICE.replace('"b"]', '"b", "c"]') + '[[wire]]\nfrom = "panel.0"\n'
     'to = "panel.b"\n[[wire]]\nfrom = "panel.c"\nto = "panel.1"\n',
     'bench.toml:10: wire 2, key "to": line "panel.1" already has a wire '
     'into it (wire 1)'),
    (DEVICE + 'pulse = [{line = 1, at = 1, width = "x"}]\n',
     'bench.toml:5: device "panel", pulse 1, key "width": expected seconds '
     '> 0, got "x"'),
]


@pytest.mark.parametrize("text, says", BAD_FILES,
                         ids=[str(n) for n in range(len(BAD_FILES))])
def test_a_bad_file_is_one_message_with_its_line_and_key(tmp_path, text,
                                                         says):
    path = tmp_path / "bench.toml"
    path.write_text(text)
    with pytest.raises(BenchFileError) as caught:
        load(str(path))
    message = str(caught.value)
    assert "\n" not in message
    if says.startswith("bench.toml"):
        # the file, then its line (and column), then the rest
        assert message.startswith(says.replace("bench.toml", str(path), 1)), \
            message
    else:
        assert message.startswith(str(path)) and says in message, message


def test_a_file_nested_too_deep_is_one_message(tmp_path):
    # tomllib recurses per level: this raised RecursionError.
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * 5000)
    with pytest.raises(BenchFileError, match=r"deep.toml: not a bench "
                                             r"file: arrays or tables nested"):
        load(str(path))


def test_a_file_that_cannot_be_read(tmp_path):
    with pytest.raises(BenchFileError, match=r"missing.toml: cannot read "
                                             r"it: No such file"):
        load(str(tmp_path / "missing.toml"))
    (tmp_path / "latin1.toml").write_bytes(b'# ok\n# caf\xe9\n')
    with pytest.raises(BenchFileError, match=r"latin1.toml:2: not UTF-8 text "
                                             r"\(byte 0xe9\)"):
        load(str(tmp_path / "latin1.toml"))


def test_key_lines_know_headers_keys_and_multiline_values():
    text = ('control = "c"  # [[not.a.header]]\n'
            "[[device]]\n"
            "name = 'x'\n"
            "steps = [\n"
            "  [1, 2],\n"
            "  [[3, 4]],\n"
            "]\n"
            "[[device.pulse]]\n"
            "\"at\" = 1\n"
            "[[device]]\n"
            "[device.initial]\n"
            "a = 1\n"
            "[[device.pulse]]\n"
            "width = 2\n")
    found = key_lines(text)
    assert found[((), "control")] == 1
    assert found[("device", 0)] == 2
    assert found[(("device", 0), "steps")] == 4
    assert found[("device", 0, "pulse", 0)] == 8
    assert found[(("device", 0, "pulse", 0), "at")] == 9
    assert found[("device", 1)] == 10
    assert found[(("device", 1), "initial")] == 11
    assert found[("device", 1, "pulse", 0)] == 13
    assert found[(("device", 1, "pulse", 0), "width")] == 14
    assert ("device", 0, "pulse", 1) not in found


def test_the_schema_fills_defaults_as_the_docs_give_them():
    checked = schema.check({"device": [{"name": "d", "socket": "s"}]})
    (device,) = checked["device"]
    for key in schema.BY_PATH[("device",)].keys:
        if not key.required:
            assert device[key.name] == (None if key.default is None else
                                        key.type.check(key.default))
    assert device["lines"] == [""] * 8 and device["protocol"] == "standard"
    assert checked["wire"] == [] and checked["control"] is None


# -- generators ----------------------------------------------------------------


def test_what_each_generator_does():
    assert list(changes(Pulse(0, 1.0, 0.25))) == [(1.0, 1), (1.25, 0)]
    assert list(changes(Pulse(0, 2.0, 0.5, level=0))) == [(2.0, 0), (2.5, 1)]
    assert list(changes(Square(0, 0.2, 0.25, start=1.0, count=2))) == [
        (1.0, 1), (1.05, 0), (1.2, 1), (1.25, 0)]
    forever = list(itertools.islice(changes(Square(0, 1.0)), 2001))
    assert forever[2000] == (1000.0, 1)
    assert list(changes(Sequence(0, [(0.5, 1), (0.5, 0)]))) == [(0.5, 1),
                                                                 (0.5, 0)]


# -- a bench served for real -----------------------------------------------------


class Recorder:
    """The server's events as they happen, with this process's clock."""

    def __init__(self):
        self.events = []
        self.lock = threading.Lock()

    def __call__(self, event):
        with self.lock:
            self.events.append((time.monotonic(), event["device"],
                                event["line"], event["event"],
                                event["value"]))

    def inputs(self, device, line):
        with self.lock:
            return [(t, value) for t, d, n, kind, value in self.events
                    if (d, n, kind) == (device, line, "input")]


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)
    return time.monotonic()


def connect(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    before = time.monotonic()
    sock.connect(path)
    front = FrontEnd(sock)
    front.handshake()
    return front, before


@pytest.fixture
def served(tmp_path):
    """buttons-and-leds.toml, copied beside its sockets, served."""
    shutil.copy(os.path.join(ROOT, "examples", "benches",
                             "buttons-and-leds.toml"), tmp_path)
    bench = load(str(tmp_path / "buttons-and-leds.toml"))
    server = assemble.server(bench)
    events = Recorder()
    server.event_hooks.append(events)
    server.open()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    fronts = []
    yield tmp_path, server, events, fronts
    assert send_control(server.control_path, {"cmd": "stop"}) == {"ok": True}
    for front in fronts:
        front.sock.close()
    thread.join(5)
    assert not thread.is_alive()
    assert sorted(os.listdir(tmp_path)) == ["buttons-and-leds.toml"]


#: how late a timer may fire on a busy machine; never early
LATE = 0.08


def test_a_square_wave_keeps_time_from_the_connection(served):
    tmp_path, server, events, fronts = served
    board = server.backend("board")
    time.sleep(0.3)
    assert events.inputs("board", 0) == []   # nothing before a front end
    front, connected = connect(str(tmp_path / "board.sock"))
    fronts.append(front)
    wait_for(lambda: len(events.inputs("board", 0)) >= 12)
    changes_seen = events.inputs("board", 0)[:12]
    assert [value for _, value in changes_seen] == [1, 0] * 6
    for number, (when, _) in enumerate(changes_seen):
        due = connected + number * 0.05        # period 0.1, duty 0.5
        assert due - 0.001 <= when <= due + LATE, (number, when - connected)
    # The guest can read the level the wave sets.
    level = std_request(front, Msg.GET_VALUE, 0)
    assert level in (b"\0\0", b"\0\x01")
    # The guest takes the line as an output: the wave cannot drive it,
    # and the backend serves on; as an input again, it follows the wave.
    assert std_request(front, Msg.SET_DIRECTION, 0, Direction.OUT) == b"\0\0"
    time.sleep(0.25)
    assert board.device.lines[0].direction == Direction.OUT
    assert std_request(front, Msg.SET_DIRECTION, 0, Direction.IN) == b"\0\0"
    count = len(events.inputs("board", 0))
    wait_for(lambda: len(events.inputs("board", 0)) >= count + 2)
    # When the front end leaves, the wave stops with it.
    front.sock.close()
    fronts.remove(front)
    wait_for(lambda: board.conn is None)
    time.sleep(0.06)
    count = len(events.inputs("board", 0))
    time.sleep(0.3)
    assert len(events.inputs("board", 0)) == count


def test_pulses_come_on_time_after_the_connection(served):
    tmp_path, server, events, fronts = served
    panel = server.backend("panel")
    assert panel.device.lines[2].value == 1     # initial: reset released
    front, connected = connect(str(tmp_path / "panel.sock"))
    fronts.append(front)
    wait_for(lambda: len(events.inputs("panel", 2)) >= 2, timeout=5)
    (menu_on, _), (menu_off, _) = events.inputs("panel", 3)
    (reset_on, low), (reset_off, high) = events.inputs("panel", 2)
    assert connected + 1.0 - 0.001 <= menu_on <= connected + 1.0 + LATE
    assert connected + 1.25 - 0.001 <= menu_off <= connected + 1.25 + LATE
    assert connected + 1.5 - 0.001 <= reset_on <= connected + 1.5 + LATE
    assert (low, high) == (0, 1)
    assert 0.1 - LATE <= reset_off - reset_on <= 0.1 + LATE
    assert [v for _, v in events.inputs("panel", 3)] == [1, 0]


def test_a_wire_carries_an_output_to_another_devices_input(served):
    tmp_path, server, events, fronts = served
    board_device = server.backend("board").device
    board, _ = connect(str(tmp_path / "board.sock"))
    panel, _ = connect(str(tmp_path / "panel.sock"))
    fronts.extend([board, panel])
    # The board's guest waits for a rising edge of power-good.
    assert std_request(board, Msg.SET_IRQ_TYPE, 1,
                       IrqType.EDGE_RISING) == b"\0\0"
    board.post_chain(1, IRQ_REQUEST.pack(1), 1)
    board.notify(1)
    # The panel's guest lights its power LED.
    assert std_request(panel, Msg.SET_VALUE, 0, 1) == b"\0\0"
    driven = time.monotonic()
    assert std_request(panel, Msg.SET_DIRECTION, 0, Direction.OUT) == b"\0\0"
    seen = wait_for(lambda: board_device.lines[1].value == 1)
    assert seen - driven < LATE
    assert len(wait_used(board, 1, 1)) == 1     # the interrupt went out
    # While the board's guest drives power-good itself, the wire waits;
    # given back as an input, the line takes what the wire carries.
    assert std_request(board, Msg.SET_IRQ_TYPE, 1, IrqType.NONE) == b"\0\0"
    assert std_request(board, Msg.SET_VALUE, 1, 1) == b"\0\0"
    assert std_request(board, Msg.SET_DIRECTION, 1, Direction.OUT) == b"\0\0"
    assert std_request(panel, Msg.SET_VALUE, 0, 0) == b"\0\0"
    time.sleep(0.05)
    assert board_device.lines[1].value == 1
    assert std_request(board, Msg.SET_DIRECTION, 1, Direction.IN) == b"\0\0"
    wait_for(lambda: board_device.lines[1].value == 0)
    assert std_request(board, Msg.GET_VALUE, 1) == b"\0\0"


# -- the lines' state kept across restarts ---------------------------------------


class StubServer:
    """What a StateKeeper uses of a server: its backends, its hooks and
    its timers, here only noted."""

    def __init__(self, backends):
        self.backends = backends
        self.event_hooks = []
        self.timers = []

    def call_later(self, delay, callback):
        self.timers.append((delay, callback))


def test_state_is_written_at_most_every_interval(tmp_path):
    path = str(tmp_path / "state.json")
    server = StubServer([Backend(StandardDevice(2), "unused")])
    keeper = saved_state.StateKeeper(server, path, interval=0.1)
    (hook,) = server.event_hooks
    hook({})
    hook({})
    ((delay, flush),) = server.timers      # one write for both events
    assert delay <= 0                        # nothing written yet: at once
    flush()
    assert os.path.exists(path)
    hook({})
    assert 0.09 <= server.timers[1][0] <= 0.1   # not before the interval
    assert len(server.timers) == 2
    keeper.close()
    assert os.listdir(tmp_path) == ["state.json"]


def test_state_comes_back_into_new_models(tmp_path):
    path = str(tmp_path / "state.json")
    std, old = StandardDevice(["a", "b"]), Id30Device(3)
    std.lines[0].direction, std.lines[0].value = Direction.OUT, 1
    std.lines[0].out_value = 1
    std.lines[1].out_value = 1                  # kept before an output
    old.set_input(2, 1)
    saved_state.write(path, [Backend(std, "x", "s"), Backend(old, "y", "o")])
    std2, old2 = StandardDevice(["a", "b"]), Id30Device(3)
    assert saved_state.restore(path, [Backend(std2, "x", "s"),
                                      Backend(old2, "y", "o")])
    assert [(l.direction, l.value, l.out_value) for l in std2.lines] == [
        (Direction.OUT, 1, 1), (Direction.IN, 0, 1)]
    assert [l.value for l in old2.lines] == [0, 0, 1]
    assert old2.events == []          # a state, not input changes to send
    assert not saved_state.restore(str(tmp_path / "none.json"), [])


def test_a_state_of_other_devices_changes_nothing(tmp_path):
    path = str(tmp_path / "state.json")
    saved_state.write(path, [Backend(StandardDevice(2), "x", "s")])
    fresh = StandardDevice(2)
    fresh.lines[1].value = 1
    with pytest.raises(saved_state.StateFileError, match="saved for s "
                       r"\(standard, 2 lines\); this backend serves t"):
        saved_state.restore(path, [Backend(fresh, "x", "t")])
    assert fresh.lines[1].value == 1


def test_a_state_file_nested_too_deep_is_refused(tmp_path):
    # json recurses per level: this raised RecursionError.
    path = tmp_path / "deep.json"
    path.write_text("[" * 5000)
    with pytest.raises(saved_state.StateFileError, match="nested too deep"):
        saved_state.restore(str(path), [Backend(StandardDevice(1), "x", "s")])


def test_a_state_write_that_fails_is_logged_not_raised(tmp_path, caplog):
    server = StubServer([Backend(StandardDevice(1), "unused")])
    keeper = saved_state.StateKeeper(server, str(tmp_path / "gone" / "s.json"))
    keeper.close()
    assert "not written" in caplog.text
