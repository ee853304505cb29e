"""The same behaviour from both protocols: every operation, events, faults.

Each test runs once against the ID 30 device (2020 proposal) and once against the
standard virtio 1.2 device (ID 41), through the same core and the same
Chip API; only what the protocols really differ in (how a bad reply
surfaces: a timeout for ID 30, where a reply cannot be tied to its
request, an immediate error for the standard, where it can) is asked
per protocol.
"""

import errno

import pytest

from sim_cases import CORRUPT_REPLIES, time_out
from virtio_gpio import Direction, Edge, Fault, VirtioGpioError
from virtio_gpio._binding import lib

NAMES = ["l%d" % i for i in range(8)]


@pytest.fixture(params=["id30", "standard"])
def proto(request):
    return request.param


@pytest.fixture
def any_chip(make_chip, proto):
    return make_chip(NAMES, protocol=proto)


def expect_errno(err, call, *args):
    with pytest.raises(VirtioGpioError) as info:
        call(*args)
    assert info.value.errno == err


def test_protocol_is_chosen_by_device_id(any_chip, proto):
    assert any_chip.protocol == proto
    assert any_chip.ngpio == 8
    assert any_chip.line_names == NAMES


def test_output_round_trip(any_chip):
    any_chip.direction_output(1, 1)
    assert any_chip.get_direction(1) is Direction.OUT
    assert any_chip.get_value(1) == 1
    assert any_chip.set_value(1, 0) == 0
    assert any_chip.get_value(1) == 0
    assert any_chip.device.lines[1].value == 0


def test_input_follows_the_device(any_chip):
    any_chip.direction_output(2, 1)
    any_chip.direction_input(2)
    assert any_chip.get_direction(2) is Direction.IN
    for level in (1, 0, 1):
        any_chip.transport.set_input(2, level)
        assert any_chip.get_value(2) == level


def test_lines_are_independent(any_chip):
    for line in range(8):
        any_chip.direction_output(line, line & 1)
    assert [any_chip.get_value(n) for n in range(8)] == [n & 1 for n in range(8)]


@pytest.mark.parametrize("line", [-1, 8, 1000])
def test_bad_line_sends_nothing(any_chip, line):
    seen = any_chip.device.requests_seen  # standard: GET_LINE_NAMES at probe
    with pytest.raises(ValueError):
        any_chip.get_value(line)
    assert any_chip.device.requests_seen == seen


def test_more_operations_than_ring_entries(make_chip, proto):
    chip = make_chip(2, ring_size=4, protocol=proto)
    chip.direction_output(0, 0)
    for i in range(50):
        chip.set_value(0, i & 1)
        assert chip.get_value(0) == i & 1
    assert chip.stats["timeouts"] == 0


@pytest.mark.parametrize("edge,levels,expected", [
    (Edge.RISING, [1, 0, 1], 2),
    (Edge.FALLING, [1, 0, 1, 0], 2),
    (Edge.BOTH, [1, 0, 1, 0], 4),
])
def test_edges_fire_on_the_right_line(any_chip, edge, levels, expected):
    any_chip.direction_input(3)
    any_chip.watch(3, edge)
    any_chip.poll()
    for level in levels:
        any_chip.transport.set_input(3, level)
    events = any_chip.read_events()
    assert [e.line for e in events] == [3] * expected
    assert any_chip.stats["irqs"] == expected


def test_unwatched_line_stays_quiet(any_chip):
    any_chip.direction_input(4)
    any_chip.watch(4)
    any_chip.poll()
    any_chip.unwatch(4)
    any_chip.poll()
    for level in (1, 0, 1):
        any_chip.transport.set_input(4, level)
    assert any_chip.read_events() == []


def test_masked_line_stays_quiet_until_unmasked(any_chip):
    any_chip.direction_input(5)
    any_chip.watch(5, Edge.RISING)
    any_chip.poll()
    any_chip.mask(5)
    any_chip.transport.set_input(5, 1)
    any_chip.transport.set_input(5, 0)
    assert any_chip.read_events() == []
    any_chip.mask(5, False)
    any_chip.poll()
    any_chip.transport.set_input(5, 1)
    assert [e.line for e in any_chip.read_events()] == [5]


def test_no_interrupt_after_kill(any_chip):
    any_chip.direction_input(6)
    any_chip.watch(6)
    any_chip.poll()
    lib.vgpio_core_kill(any_chip._core)
    any_chip.transport.set_input(6, 1)
    assert any_chip.read_events() == []
    expect_errno(errno.ENODEV, any_chip.get_value, 6)


def test_dropped_reply_times_out_then_recovers(any_chip):
    any_chip.direction_output(0, 1)
    any_chip.device.inject(Fault.DROP)
    time_out(any_chip, any_chip.get_value, 0)
    assert any_chip.stats["timeouts"] == 1
    assert any_chip.get_value(0) == 1
    any_chip.set_value(0, 0)
    assert any_chip.get_value(0) == 0


def test_late_reply_never_answers_a_newer_request(any_chip):
    # The late reply says 1; by the time it arrives the input is 0 and a
    # new GET_VALUE waits: it must get 0.
    any_chip.direction_input(2)
    any_chip.transport.set_input(2, 1)
    any_chip.device.inject(Fault.DELAY)
    expect_errno(errno.ETIMEDOUT, any_chip.get_value, 2)
    any_chip.transport.set_input(2, 0)
    any_chip.transport.release_delayed()
    assert any_chip.get_value(2) == 0
    # The delayed reply, and the answer to the ping the timeout sent.
    assert any_chip.stats["late_replies"] == 2


@pytest.mark.parametrize("fault,counter,std_errno", CORRUPT_REPLIES)
def test_corrupt_reply_is_rejected_then_recovered(any_chip, proto, fault,
                                                  counter, std_errno):
    any_chip.direction_output(1, 1)
    any_chip.device.inject(fault)
    # ID 30: the bad reply cannot be tied to the request, which times out.
    # Standard: it came back in the request's chain, which fails at once.
    if proto == "id30":
        time_out(any_chip, any_chip.get_value, 1)
    else:
        expect_errno(std_errno, any_chip.get_value, 1)
    assert any_chip.stats[counter] == 1
    assert any_chip.transport.rejections
    assert any_chip.get_value(1) == 1
    assert any_chip.get_direction(1) is Direction.OUT


def test_kill_fails_the_waiter(any_chip):
    any_chip.direction_output(0, 1)
    any_chip.transport.device_paused = True
    any_chip.transport.before_wait = lambda line: lib.vgpio_core_kill(any_chip._core)
    expect_errno(errno.ENODEV, any_chip.get_value, 0)
    assert lib.vgpio_core_idle(any_chip._core)
