"""Standard protocol: a request the driver gave up on and the device
applied late. Its late answer says what the device did, so the driver's
record of the line (direction, trigger type) ends as the device is."""

import errno

import pytest

from virtio_gpio import Edge, VirtioGpioError
from virtio_gpio._binding import lib
from virtio_gpio.devices.standard import REQUEST, Direction, IrqType, Msg
from virtio_gpio.wire.standard import VQ_EVENT


@pytest.fixture
def std(make_chip):
    return make_chip(4, protocol="standard")


def expect_timeout(chip, call, *args):
    """``call`` times out on a stalled device, which then answers late."""
    chip.transport.device_paused = True
    with pytest.raises(VirtioGpioError) as info:
        call(*args)
    assert info.value.errno == errno.ETIMEDOUT
    chip.transport.device_paused = False
    chip.transport.run()


def sent(chip, since):
    return [REQUEST.unpack(r) for r in list(chip.device.received)[since:]]


def test_an_input_direction_applied_late_lets_the_interrupt_arm(std):
    # The line was an output; its interrupt waits for the input direction
    # (no IRQ message for an output line). The SET_DIRECTION IN timed out
    # and was applied late: the line is an input, and the next sync arms
    # its interrupt. Taken for an output still, it never would.
    std.direction_output(1, 0)
    std.watch(1, Edge.RISING)
    expect_timeout(std, std.direction_input, 1)
    assert std.device.lines[1].direction == Direction.IN
    n = len(std.device.received)
    std.watch(1, Edge.RISING)
    assert sent(std, n) == [(Msg.SET_IRQ_TYPE, 1, IrqType.EDGE_RISING)]
    std.transport.set_input(1, 1)
    assert [e.line for e in std.read_events()] == [1]


def test_a_trigger_type_applied_late_arms_without_another_sync(std):
    # The kernel only logs a bus sync that failed: nothing syncs the line
    # again. The late answer says the device has the wanted type; the
    # eventq buffer goes out by the deferred arm.
    std.direction_input(2)
    expect_timeout(std, std.watch, 2, Edge.FALLING)
    assert std.device.lines[2].irq_type == IrqType.EDGE_FALLING
    std.transport.run()                 # the deferred arm, as a work item
    std.transport.set_input(2, 1)
    std.transport.set_input(2, 0)
    assert [e.line for e in std.read_events()] == [2]


def test_a_type_applied_late_but_no_longer_wanted_is_not_armed(std):
    std.direction_input(3)
    std.transport.device_paused = True
    with pytest.raises(VirtioGpioError):
        std.watch(3, Edge.RISING)
    # Changed meanwhile (only recorded: the bus sync is still to come).
    std.transport.device_paused = False
    assert lib.vgpio_irq_set_type(std._core, 3, Edge.FALLING) == 0
    std.transport.run()
    std.transport.run()                 # a deferred arm, had one been asked
    assert std.transport.ring_stats(VQ_EVENT)["avail"] == 0
    # The sync then says the wanted type, through NONE.
    n = len(std.device.received)
    std.watch(3, Edge.FALLING)
    assert sent(std, n) == [(Msg.SET_IRQ_TYPE, 3, IrqType.NONE),
                            (Msg.SET_IRQ_TYPE, 3, IrqType.EDGE_FALLING)]


def test_a_trigger_type_applied_late_after_the_kill_asks_for_no_arm(std):
    # Teardown cancels the arm work once the core is dead; an answer that
    # came later and still asked for it queued work on freed memory.
    std.direction_input(2)
    std.transport.device_paused = True
    with pytest.raises(VirtioGpioError):
        std.watch(2, Edge.FALLING)
    lib.vgpio_core_kill(std._core)
    std.transport.host.arm_pending = 0
    std.transport.device_paused = False
    std.transport.run()
    assert std.device.lines[2].irq_type == IrqType.EDGE_FALLING
    assert std.transport.host.arm_pending == 0


def test_a_release_applied_late_is_known_to_have_cleared_the_type(std):
    # SET_DIRECTION NONE discards the line's state at the device, its
    # trigger type too; applied late, the driver knows it, and an output
    # direction needs no NONE trigger type first.
    std.direction_input(0)
    std.watch(0, Edge.BOTH)
    std.unwatch(0)
    std.request(0)
    expect_timeout(std, std.free, 0)
    n = len(std.device.received)
    std.direction_output(0, 1)
    assert sent(std, n) == [(Msg.SET_VALUE, 0, 1),
                            (Msg.SET_DIRECTION, 0, Direction.OUT)]


def pause_on_wait(chip, n):
    """Stall the device from the ``n``-th wait on (counted from 1)."""
    count = [0]
    real = chip.transport.on_wait

    def on_wait(line):
        count[0] += 1
        if count[0] == n:
            chip.transport.device_paused = True
        return real(line)

    chip.transport.on_wait = on_wait


def test_an_output_direction_given_up_on_is_undone_before_the_next_read(std):
    # direction_output is SET_VALUE then SET_DIRECTION OUT; the second
    # times out and the device applies it late. The caller was told it
    # failed, and gpiolib takes the line for an input still: before the
    # line is next read, the input direction is set again, so the device
    # is what gpiolib believes, not an output driving the line.
    std.direction_input(1)
    pause_on_wait(std, 2)
    with pytest.raises(VirtioGpioError) as info:
        std.direction_output(1, 1)
    assert info.value.errno == errno.ETIMEDOUT
    std.transport.device_paused = False
    std.transport.run()
    assert std.device.lines[1].direction == Direction.OUT
    n = len(std.device.received)
    std.get_value(1)
    assert sent(std, n) == [(Msg.SET_DIRECTION, 1, Direction.IN),
                            (Msg.GET_VALUE, 1, 0)]
    assert std.device.lines[1].direction == Direction.IN
    # In step again: nothing more to undo.
    n = len(std.device.received)
    std.get_value(1)
    assert sent(std, n) == [(Msg.GET_VALUE, 1, 0)]


def test_a_direction_read_is_what_gpiolib_then_believes(std):
    # gpiolib takes get_direction's answer for the line's direction: after
    # it, the device's direction is the callers' and nothing is undone.
    std.direction_output(2, 1)
    expect_timeout(std, std.direction_input, 2)
    assert std.device.lines[2].direction == Direction.IN
    from virtio_gpio import Direction as LineDirection
    assert std.get_direction(2) is LineDirection.IN
    n = len(std.device.received)
    std.get_value(2)
    assert sent(std, n) == [(Msg.GET_VALUE, 2, 0)]
