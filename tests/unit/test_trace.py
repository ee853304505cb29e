"""Waveform traces: events recorded as a VCD read back exactly, the
drawing is a real image with a row per line, and vgpio-trace fails on bad
input in one line."""

import logging
import os
import struct
import subprocess
import sys
import threading

import pytest

from checkout import ROOT
from virtio_gpio.trace import cli, extra, reader, render, vcd
from virtio_gpio.trace.vcd import VcdRecorder

#: a wall-clock time, as the backend's time.time() stamps
T0 = 1_700_000_000.0

DEVICES = {"gpio0": ["led", "button", "", "reset"], "gpio1": ["sensor"]}

#: (microseconds after T0, device, line, kind, value): what a guest and
#: the host did, in the order the backend stamped it
SESSION = [
    (0, "gpio0", 0, "direction", "out"),
    (20, "gpio0", 0, "drive", 0),
    (35, "gpio0", 1, "direction", "in"),
    (40, "gpio0", 1, "irq_type", "both"),
    (100, "gpio0", 0, "drive", 1),
    (250, "gpio0", 1, "input", 1),
    (250, "gpio0", 1, "interrupt", 1),
    (300, "gpio0", 0, "drive", 0),
    (410, "gpio1", 0, "direction", "in"),
    (415, "gpio1", 0, "input", 1),
    (500, "gpio0", 1, "input", 0),
    (503, "gpio0", 1, "interrupt", 0),
    (600, "gpio0", 1, "irq_type", "none"),
    (700, "gpio0", 1, "direction", "out"),
    (710, "gpio0", 1, "drive", 1),
]
END = 1000


def stamp(micros, device, line, kind, value):
    """An event as the backend hands it on."""
    return {"time": T0 + micros / 1e6, "device": device, "line": line,
            "name": DEVICES[device][line], "event": kind, "value": value}


def record(path, events, devices=DEVICES, end=END):
    recorder = VcdRecorder(str(path), devices)
    for event in events:
        recorder.record(event)
    recorder.close(at=T0 + end / 1e6)
    return recorder


@pytest.fixture
def session(tmp_path):
    path = tmp_path / "session.vcd"
    record(path, [stamp(*e) for e in SESSION])
    return path


def by_name(trace):
    return {line.full_name: line for line in trace.lines}


def test_every_line_is_in_the_trace_in_line_order(session):
    trace = reader.read(str(session))
    assert [line.full_name for line in trace.lines] == [
        "gpio0.led", "gpio0.button", "gpio0.line2", "gpio0.reset",
        "gpio1.sensor"]
    assert trace.seconds_per_tick == 1e-6
    assert trace.end == END
    assert trace.truncated is None


def test_levels_read_back_with_their_times_in_microseconds(session):
    lines = by_name(reader.read(str(session)))
    # None: not known until the guest drives it or the host sets it.
    assert lines["gpio0.led"].levels == [(0, None), (20, 0), (100, 1),
                                         (300, 0)]
    assert lines["gpio0.button"].levels == [(0, None), (250, 1), (500, 0),
                                            (710, 1)]
    assert lines["gpio1.sensor"].levels == [(0, None), (415, 1)]
    assert lines["gpio0.line2"].levels == [(0, None)]
    assert lines["gpio0.reset"].levels == [(0, None)]


def test_directions_and_who_set_the_level(session):
    lines = by_name(reader.read(str(session)))
    button = lines["gpio0.button"]
    assert button.directions == [(0, ""), (35, "in"), (700, "out")]
    # The host set the input twice, then the guest drove the output; a
    # value that does not change is not written again.
    assert button.changed_by == [(0, ""), (250, "host"), (710, "guest")]
    assert lines["gpio0.led"].directions == [(0, ""), (0, "out")]
    assert lines["gpio0.led"].changed_by == [(0, ""), (20, "guest")]
    assert lines["gpio1.sensor"].changed_by == [(0, ""), (415, "host")]


def test_interrupt_types_and_deliveries(session):
    lines = by_name(reader.read(str(session)))
    button = lines["gpio0.button"]
    assert button.irq_types == [(0, ""), (40, "both"), (600, "none")]
    assert button.interrupts == [250, 503]
    assert lines["gpio0.led"].interrupts == []


def test_the_header_says_when_time_0_was(session):
    text = session.read_text()
    assert "$timescale 1 us $end" in text
    assert repr(T0) in text
    assert reader.read(str(session)).date.startswith("2023-11-14T22:13:20")


def test_times_count_from_the_first_event_whatever_its_kind(tmp_path):
    path = tmp_path / "t.vcd"
    record(path, [stamp(5000, "gpio0", 2, "irq_type", "rising"),
                  stamp(5007, "gpio0", 2, "input", 1)], end=6000)
    (line,) = [l for l in reader.read(str(path)).lines
               if l.full_name == "gpio0.line2"]
    assert line.irq_types == [(0, ""), (0, "rising")]
    assert line.levels == [(0, None), (7, 1)]


def test_an_interrupt_in_the_first_microsecond_is_kept(tmp_path):
    # pyvcd folds changes before the first time step into $dumpvars,
    # which has no events: the recorder writes the header first.
    path = tmp_path / "t.vcd"
    record(path, [stamp(0, "gpio0", 1, "interrupt", 1)])
    assert by_name(reader.read(str(path)))["gpio0.button"].interrupts == [0]


def test_an_event_stamped_a_little_late_is_written_at_the_latest_time(
        tmp_path):
    path = tmp_path / "t.vcd"
    record(path, [stamp(0, "gpio0", 0, "drive", 0),
                  stamp(100, "gpio0", 0, "drive", 1),
                  stamp(90, "gpio0", 0, "drive", 0)])
    assert by_name(reader.read(str(path)))["gpio0.led"].levels == [
        (0, None), (0, 0), (100, 1), (100, 0)]


def test_events_for_unknown_lines_are_left_out_with_a_warning(
        tmp_path, caplog):
    path = tmp_path / "t.vcd"
    with caplog.at_level(logging.WARNING, logger="virtio_gpio.trace.vcd"):
        recorder = record(path, [
            stamp(0, "gpio0", 0, "drive", 1),
            dict(stamp(1, "gpio0", 0, "drive", 0), line=4),
            dict(stamp(2, "gpio0", 0, "drive", 0), device="gpio7"),
            dict(stamp(3, "gpio0", 0, "drive", 0), event="glitch"),
        ])
    warned = [r.getMessage() for r in caplog.records]
    assert any("has no line 4" in m for m in warned), warned
    assert any("'gpio7' has no line 0" in m for m in warned), warned
    # An unknown kind is counted, not warned about one by one.
    assert not any("glitch" in m for m in warned), warned
    assert recorder.ignored == {"for lines not traced": 2,
                                "of unknown kinds": 1}
    trace = reader.read(str(path))
    assert by_name(trace)["gpio0.led"].levels == [(0, None), (0, 1)]
    assert all(line.interrupts == [] and len(line.levels) == 1
               for line in trace.lines if line.full_name != "gpio0.led")


def test_bad_values_are_left_out(tmp_path):
    path = tmp_path / "t.vcd"
    recorder = record(path, [
        stamp(0, "gpio0", 0, "drive", 2),
        stamp(1, "gpio0", 0, "direction", "sideways"),
        stamp(2, "gpio0", 0, "irq_type", 3),
        dict(stamp(3, "gpio0", 0, "drive", 1), time="soon"),
        stamp(4, "gpio0", 0, "drive", 1),
    ])
    assert recorder.ignored == {"with bad values": 3, "without a time": 1}
    led = by_name(reader.read(str(path)))["gpio0.led"]
    assert led.levels == [(0, None), (4, 1)]
    assert led.directions == [(0, "")] and led.irq_types == [(0, "")]


def test_names_become_references_and_stay_unique(tmp_path):
    path = tmp_path / "t.vcd"
    record(path, [], devices={
        "gpio 0": ["a b", "", "x[3]", "a_b", "line1", "a_b", "c_direction",
                   "c"],
        "gpio_0": ["ok"]})
    names = [line.full_name for line in reader.read(str(path)).lines]
    assert names == ["gpio_0.a_b", "gpio_0.line1", "gpio_0.x_3_",
                     "gpio_0.a_b_3", "gpio_0.line1_4", "gpio_0.a_b_5",
                     "gpio_0.c_direction", "gpio_0.c_7", "gpio_0_1.ok"]


def test_a_recording_without_events_is_a_valid_trace(tmp_path):
    path = tmp_path / "t.vcd"
    recorder = VcdRecorder(str(path), DEVICES)
    recorder.close()
    recorder.close()
    recorder.record(stamp(0, "gpio0", 0, "drive", 1))
    trace = reader.read(str(path))
    assert len(trace.lines) == 5
    assert all(line.levels == [(0, None)] for line in trace.lines)


def test_a_full_disk_stops_the_recording_not_the_backend(caplog):
    recorder = VcdRecorder("/dev/full", DEVICES)
    with caplog.at_level(logging.ERROR, logger="virtio_gpio.trace.vcd"):
        recorder.record(stamp(0, "gpio0", 0, "drive", 1))
        recorder.record(stamp(1, "gpio0", 0, "drive", 0))
        recorder.close()
    assert any("No space left" in r.getMessage() for r in caplog.records)


def test_a_fault_of_the_recorder_loses_the_event_not_the_backend(
        tmp_path, monkeypatch, caplog):
    def broken(value):
        raise RuntimeError("recorder bug")

    monkeypatch.setitem(vcd._CHANGES, "drive", broken)
    path = tmp_path / "t.vcd"
    with caplog.at_level(logging.ERROR, logger="virtio_gpio.trace.vcd"):
        recorder = record(path, [stamp(0, "gpio0", 0, "drive", 1),
                                 stamp(1, "gpio0", 1, "input", 1)])
    assert recorder.ignored == {"by a fault of the recorder": 1}
    assert "recorder bug" in caplog.text
    assert by_name(reader.read(str(path)))["gpio0.button"].levels == [
        (0, None), (1, 1)]


def test_a_bad_path_fails_when_the_recorder_is_built(tmp_path):
    with pytest.raises(OSError):
        VcdRecorder(str(tmp_path / "no" / "such.vcd"), DEVICES)


def test_threads_recording_at_once_lose_nothing(tmp_path):
    path = tmp_path / "t.vcd"
    recorder = VcdRecorder(str(path), DEVICES)

    def interrupts(line):
        for n in range(500):
            recorder.record(stamp(n, "gpio0", line, "interrupt", 1))

    threads = [threading.Thread(target=interrupts, args=(line,))
               for line in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorder.close(at=T0 + 1)
    trace = reader.read(str(path))
    assert [len(line.interrupts) for line in trace.lines] == [500] * 4 + [0]


def test_a_trace_cut_off_by_a_killed_backend_reads_up_to_the_cut(session):
    text = session.read_text()
    session.write_text(text[:text.index("#503")] + "#50")
    trace = reader.read(str(session))
    assert by_name(trace)["gpio0.button"].levels == [(0, None), (250, 1),
                                                     (500, 0)]
    assert trace.end == 500


@pytest.mark.parametrize("content", [b"", b"hello\n",
                                     b"\x89PNG\r\n\x1a\n\0\0garbage",
                                     b"$timescale 1 us $end\n$var wire"])
def test_what_is_not_a_vcd_is_refused(tmp_path, content):
    path = tmp_path / "x.vcd"
    path.write_bytes(content)
    with pytest.raises(reader.TraceError, match="not a VCD file"):
        reader.read(str(path))


def png_size(path):
    """(width, height) from a PNG's signature and IHDR chunk."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_the_drawing_is_a_png_with_a_row_per_line(session, tmp_path):
    out = tmp_path / "session.png"
    trace = reader.read(str(session))
    rows = render.render(trace, str(out), title="session")
    assert rows == [line.full_name for line in trace.lines]
    width, height = png_size(out)
    assert width == render.WIDTH_INCHES * 100
    assert height == round((render.MARGIN_INCHES
                            + render.ROW_INCHES * len(rows)) * 100)
    assert out.stat().st_size > 20_000


def test_the_drawing_follows_the_lines_chosen(session, tmp_path):
    trace = reader.read(str(session))
    lines = trace.select(["sensor", "gpio0.led"])
    rows = render.render(trace, str(tmp_path / "two.png"), lines)
    assert rows == ["gpio1.sensor", "gpio0.led"]
    assert png_size(tmp_path / "two.png")[1] == round(
        (render.MARGIN_INCHES + render.ROW_INCHES * 2) * 100)


def test_segments_hold_each_value_until_the_next():
    assert render.segments([(0, None), (5, 1), (5, 0), (9, 1)], 12) == [
        (0, 5, None), (5, 5, 1), (5, 9, 0), (9, 12, 1)]
    assert render.value_at([(0, ""), (4, "host"), (8, "guest")], 4) == "host"


def trace_cli(*args, capsys):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_vgpio_trace_draws_the_lines_that_did_something(session, tmp_path,
                                                        capsys):
    out = tmp_path / "drawn.png"
    code, stdout, stderr = trace_cli(session, "-o", out, capsys=capsys)
    assert (code, stderr) == (0, "")
    # gpio0.line2 and gpio0.reset did nothing after the start.
    assert stdout == "%s: 3 lines, 0.001 s\n" % out
    assert png_size(out)[1] == round(
        (render.MARGIN_INCHES + render.ROW_INCHES * 3) * 100)


def test_vgpio_trace_lines_and_title(session, tmp_path, capsys):
    out = tmp_path / "drawn.svg"
    code, stdout, _ = trace_cli(session, "-o", out, "--lines",
                                "reset, gpio0.led", "--title", "two lines",
                                capsys=capsys)
    assert code == 0 and stdout.startswith("%s: 2 lines" % out)
    assert "two lines" in out.read_text()


def one_line_exit_2(code, stdout, stderr):
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("vgpio-trace: ")
    assert "Traceback" not in stderr


@pytest.mark.parametrize("content, says", [
    (None, "No such file"),
    (b"\x00\xff garbage\n\x01", "not a VCD file"),
    (b"$timescale 1 us $end\n$enddefinitions $end\n#0\n", "has no lines"),
])
def test_vgpio_trace_refuses_bad_input_in_one_line(tmp_path, capsys,
                                                   content, says):
    path = tmp_path / "in.vcd"
    if content is not None:
        path.write_bytes(content)
    result = trace_cli(path, "-o", tmp_path / "out.png", capsys=capsys)
    one_line_exit_2(*result)
    assert says in result[2]
    assert not (tmp_path / "out.png").exists()


def test_vgpio_trace_refuses_an_unknown_line(session, tmp_path, capsys):
    result = trace_cli(session, "-o", tmp_path / "out.png", "--lines",
                       "led,doorbell", capsys=capsys)
    one_line_exit_2(*result)
    assert "has no line doorbell (it has: gpio0.led," in result[2]


def test_vgpio_trace_says_when_it_cannot_write(session, tmp_path, capsys):
    result = trace_cli(session, "-o", tmp_path / "no" / "out.png",
                       capsys=capsys)
    one_line_exit_2(*result)
    assert "cannot write" in result[2]


#: python -S: no site-packages, so neither pyvcd nor matplotlib, as in an
#: install without the trace extra; the package itself from the checkout
WITHOUT_EXTRA = [sys.executable, "-S", "-c",
                 "import sys; from virtio_gpio.trace.cli import main; "
                 "sys.exit(main(sys.argv[1:]))"]


def without_extra(*args):
    return subprocess.run(WITHOUT_EXTRA + list(args), capture_output=True,
                          text=True, timeout=60,
                          env=dict(os.environ,
                                   PYTHONPATH=os.path.join(ROOT, "python")))


def test_without_the_extra_vgpio_trace_says_what_to_install(session,
                                                            tmp_path):
    proc = without_extra(str(session), "-o", str(tmp_path / "out.png"))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == ("vgpio-trace: needs pyvcd and matplotlib, not "
                           "installed: pip install 'virtio-gpio[trace]'\n")


def test_without_the_extra_vgpio_trace_still_helps():
    proc = without_extra("--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: vgpio-trace ")
    assert extra.INSTALL in proc.stdout


def test_the_trace_package_needs_no_compiled_core():
    blocked = ("virtio_gpio._core", "virtio_gpio._binding",
               "virtio_gpio.chip", "virtio_gpio.simtransport")
    code = (
        "import importlib, importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name in %r:\n"
        "            raise ImportError(name + ' blocked by the test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "for m in ('cli', 'extra', 'vcd', 'reader', 'render'):\n"
        "    importlib.import_module('virtio_gpio.trace.' + m)\n"
        "print('imported')\n" % (blocked,))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "imported\n"
