"""Property-based, waveform traces: whatever the backend hands the
recorder, it never raises and leaves a VCD that reads back whole; the
events it takes read back as the levels a plain model of the lines says.
"""

import os
import tempfile

from hypothesis import given
from hypothesis import strategies as st

from virtio_gpio.devices.events import DIRECTIONS, IRQ_TYPES, KINDS
from virtio_gpio.trace.reader import read
from virtio_gpio.trace.vcd import GUEST, HOST, VcdRecorder

DEVICES = {"gpio0": ["a", "", "b"], "gpio1": ["a"]}
T0 = 1_700_000_000.0

anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)

#: an event dict that may hold anything under each key, or lack it
arbitrary_event = st.fixed_dictionaries({}, optional={
    "time": st.floats(T0 - 10, T0 + 10) | anything,
    "device": st.sampled_from(sorted(DEVICES) + ["gpio9"]) | anything,
    "line": st.integers(-1, 4) | anything,
    "name": anything,
    "event": st.sampled_from(sorted(KINDS)) | anything,
    "value": st.sampled_from([0, 1] + list(DIRECTIONS) + list(IRQ_TYPES))
    | anything,
}) | anything


def trace_of(events, devices=DEVICES):
    fd, path = tempfile.mkstemp(suffix=".vcd")
    os.close(fd)
    try:
        recorder = VcdRecorder(path, devices)
        for event in events:
            recorder.record(event)
        recorder.close(at=T0 + 20)
        # What it left out, it left out on purpose, never by a fault of
        # its own (which it would log and survive).
        assert "by a fault of the recorder" not in recorder.ignored
        return read(path)
    finally:
        os.remove(path)


@given(st.lists(arbitrary_event, max_size=30))
def test_arbitrary_events_never_break_the_recording(events):
    trace = trace_of(events)
    assert trace.truncated is None
    assert [line.full_name for line in trace.lines] == [
        "gpio0.a", "gpio0.line1", "gpio0.b", "gpio1.a"]
    for line in trace.lines:
        assert {v for _, v in line.levels} <= {None, 0, 1}
        assert {v for _, v in line.directions} <= set(DIRECTIONS) | {""}
        assert {v for _, v in line.irq_types} <= set(IRQ_TYPES) | {""}
        assert {v for _, v in line.changed_by} <= {GUEST, HOST, ""}
        times = [t for t, _ in line.levels] + line.interrupts
        assert all(0 <= t <= trace.end for t in times)


#: a valid event: (microseconds since the last, device, line, kind, value)
valid_event = st.tuples(
    st.integers(0, 50), st.sampled_from([("gpio0", 0), ("gpio0", 1),
                                         ("gpio0", 2), ("gpio1", 0)]),
    st.sampled_from(["drive", "input"]), st.sampled_from([0, 1]))


@given(st.lists(valid_event, max_size=40))
def test_levels_read_back_as_the_model_of_the_lines_says(events):
    expected = {key: [(0, None)] for key in
                [("gpio0", 0), ("gpio0", 1), ("gpio0", 2), ("gpio1", 0)]}
    stamped, now = [], 0
    for gap, (device, line), kind, value in events:
        now += gap
        stamped.append({"time": T0 + now / 1e6, "device": device,
                        "line": line, "event": kind, "value": value})
        start = stamped[0]["time"]
        ticks = round((stamped[-1]["time"] - start) * 1e6)
        # A level written again unchanged is no change.
        if expected[(device, line)][-1][1] != value:
            expected[(device, line)].append((ticks, value))
    trace = trace_of(stamped)
    # The trace's lines are in the devices' order, as the model's keys.
    assert {key: line.levels for key, line
            in zip(expected, trace.lines)} == expected
