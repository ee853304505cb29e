"""HOST_LEVEL events: bounds checks, edge detection, masking."""

import errno

import pytest

from virtio_gpio import Edge, MsgType


@pytest.fixture
def in_chip(chip):
    for line in range(4):
        chip.direction_input(line)
    return chip


@pytest.mark.parametrize("edge, expected", [
    (Edge.RISING, [True, True]),
    (Edge.FALLING, [False, False]),
    (Edge.BOTH, [True, False, True, False]),
])
def test_edges_fire_per_trigger_type(in_chip, edge, expected):
    in_chip.watch(2, edge)
    for level in (1, 0, 1, 0):
        in_chip.transport.set_input(2, level)
    events = in_chip.read_events()
    assert [e.rising for e in events] == expected
    assert {e.line for e in events} == {2}


def test_unwatched_line_counts_events_but_fires_nothing(in_chip):
    in_chip.watch(1)
    in_chip.unwatch(1)
    in_chip.transport.set_input(1, 1)
    assert in_chip.read_events() == []
    assert in_chip.stats["events"] == 1
    assert in_chip.stats["irqs"] == 0


def test_subscribers_are_called(in_chip):
    seen = []
    in_chip.subscribe(seen.append)
    in_chip.watch(0)
    in_chip.transport.set_input(0, 1)
    assert [(e.line, e.rising) for e in seen] == [(0, True)]


def test_event_line_checked_before_use(in_chip):
    # The 2020 patch (v3) called irq_find_mapping() with the device's line
    # before checking it.
    for line in (4 + 4, 8, 0xFFFF):
        in_chip.transport.deliver(in_chip.device.raw_event(
            MsgType.HOST_LEVEL, line, 1))
    assert in_chip.stats["bad_line"] == 3
    assert in_chip.stats["events"] == 0
    assert in_chip.last_error == errno.ERANGE


def test_event_value_out_of_range_is_rejected(in_chip):
    in_chip.watch(0)
    in_chip.transport.deliver(in_chip.device.raw_event(MsgType.HOST_LEVEL, 0, 2))
    assert in_chip.stats["bad_value"] == 1
    assert in_chip.read_events() == []


def test_host_level_during_get_value_leaves_the_reply_alone(in_chip):
    # The 2020 patch (v3) kept one priv->last: an event overwrote the
    # pending reply.
    in_chip.watch(3)
    transport = in_chip.transport
    transport.before_wait = lambda line: transport.set_input(3, 1)
    assert in_chip.get_value(0) == 0
    assert [(e.line, e.rising) for e in in_chip.read_events()] == [(3, True)]
    assert in_chip.get_value(3) == 1


def test_event_on_pending_line_does_not_complete_request(in_chip):
    in_chip.watch(0)
    transport = in_chip.transport
    transport.device_paused = True
    transport.before_wait = lambda line: transport.set_input(0, 1)
    with pytest.raises(OSError) as info:
        in_chip.get_value(0)
    assert info.value.errno == errno.ETIMEDOUT
    assert in_chip.stats["replies"] == 4  # the four direction_input calls
    assert len(in_chip.read_events()) == 1


def test_bad_irq_arguments_are_rejected(in_chip):
    with pytest.raises(ValueError):
        in_chip.watch(9)
    with pytest.raises(ValueError):
        in_chip.watch(0, 7)
    from virtio_gpio._binding import lib
    assert lib.vgpio_irq_set_type(in_chip._core, 0, 5) == -errno.EINVAL
    # The 2020 protocol reports level changes: no level triggers.
    with pytest.raises(OSError) as info:
        in_chip.watch(0, Edge.LEVEL_HIGH)
    assert info.value.errno == errno.EOPNOTSUPP
