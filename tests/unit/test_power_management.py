"""Power management in the core: a device reset the driver survives.

:meth:`Chip.freeze` and :meth:`Chip.restore` do what the kernel glue's
.freeze/.restore (and .reset_prepare/.reset_done) do around a suspend,
a hibernation or a transport's reset: quiesce, reset the device and lose
its queues, then new queues and the state told again. The simulated
device forgets everything at the reset (StandardDevice.reset()), as the
spec's device does, so every check below fails if the core does not
tell it again.
"""

import errno

import pytest

from virtio_gpio import Edge, VirtioGpioError
from virtio_gpio._binding import lib
from virtio_gpio.chip import _irq_descriptor_locked
from virtio_gpio.devices.standard import Direction, IrqType, Msg
from virtio_gpio.wire import id30 as id30_wire
from virtio_gpio.wire.id30 import Direction as Id30Direction

from test_standard_core import expect_errno, sent


@pytest.fixture
def std(make_chip):
    return make_chip(8, protocol="standard")


@pytest.fixture
def id30(make_chip):
    return make_chip(8, protocol="id30")


def test_a_watched_line_fires_again_after_restore(std):
    std.request(2)
    std.direction_input(2)
    std.watch(2, Edge.BOTH)
    std.freeze()
    assert std.device.lines[2].irq_type == IrqType.NONE    # it forgot
    std.restore()
    # The trigger type was told again, and the eventq buffer is back.
    assert std.device.lines[2].irq_type == IrqType.EDGE_BOTH
    std.transport.run()
    assert 2 in std.device.held_irq_lines()
    std.transport.set_input(2, 1)
    std.transport.set_input(2, 0)
    assert [e.line for e in std.read_events()] == [2, 2]


def test_every_enabled_line_gets_its_eventq_buffer_back(std):
    for line in range(8):
        std.watch(line, Edge.RISING)
    std.freeze()
    std.restore()
    std.transport.run()
    assert sorted(std.device.held_irq_lines()) == list(range(8))
    assert std.stats["rx_repost_failed"] == 0


def test_directions_and_values_are_as_before(std):
    std.direction_output(1, 1)
    std.direction_output(3, 0)
    std.direction_input(4)
    std.freeze()
    assert std.device.lines[1].out_value == 0               # it forgot
    std.restore()
    lines = std.device.lines
    assert (lines[1].direction, lines[1].value) == (Direction.OUT, 1)
    assert (lines[3].direction, lines[3].value) == (Direction.OUT, 0)
    assert lines[4].direction == Direction.IN
    assert std.get_value(1) == 1
    std.set_value(3, 1)
    assert lines[3].value == 1


def test_the_replay_tells_only_what_consumers_set(std):
    std.direction_output(1, 1)
    std.direction_output(5, 1)
    std.free(5)                          # gone: the device was told NONE
    before = len(std.device.received)
    std.freeze()
    std.restore()
    # Value first, then the direction, as direction_output does: line 1
    # alone; untouched lines and the freed one get nothing.
    assert sent(std, before) == [(Msg.SET_VALUE, 1, 1),
                                 (Msg.SET_DIRECTION, 1, Direction.OUT)]


def test_operations_while_frozen_fail_with_eshutdown(std):
    std.freeze()
    expect_errno(errno.ESHUTDOWN, std.get_value, 0)
    expect_errno(errno.ESHUTDOWN, std.direction_output, 1, 1)
    std.restore()
    assert std.get_value(0) == 0
    # A refused direction is not recorded as set, and not replayed.
    assert std.device.lines[1].direction == Direction.IN


def test_an_operation_in_flight_at_the_quiesce_finishes(std):
    # Quiesced while direction_output waits for its SET_VALUE: its
    # SET_DIRECTION still goes out, so the line is not left half set.
    std.transport.before_wait = lambda line: lib.vgpio_core_quiesce(
        std._core)
    std.direction_output(1, 1)
    assert std.device.lines[1].direction == Direction.OUT
    assert std.device.lines[1].value == 1
    expect_errno(errno.ESHUTDOWN, std.get_value, 1)
    std.freeze()
    std.restore()
    assert std.get_value(1) == 1


def test_a_watch_asked_for_while_frozen_is_applied_at_restore(std):
    std.freeze()
    # The irq_chip records it under the descriptor's lock; the bus sync
    # that would tell the device is refused until the restore.
    expect_errno(errno.ESHUTDOWN, std.watch, 6, Edge.FALLING)
    std.restore()
    assert std.device.lines[6].irq_type == IrqType.EDGE_FALLING
    std.transport.set_input(6, 1)
    std.transport.set_input(6, 0)
    assert [e.line for e in std.read_events()] == [6]


def test_a_deferred_arm_while_detached_posts_nothing(std):
    # The kernel's resume_device_irqs() unmasks before the driver's
    # restore: the arm work then runs with the queues gone.
    # Line 3 fired while masked (as a level interrupt's thread runs): its
    # buffer is back, and goes out again only at the unmask.
    std.watch(3, Edge.BOTH)
    std.mask(3)
    std.transport.set_input(3, 1)
    assert 3 not in std.device.held_irq_lines()
    std.freeze()
    with _irq_descriptor_locked():
        lib.vgpio_irq_mask(std._core, 3, False)
    assert std.transport.host.arm_pending
    std.transport.run_deferred_arms()
    assert std.stats["rx_repost_failed"] == 0
    std.restore()
    std.transport.run()
    assert 3 in std.device.held_irq_lines()


def test_a_device_silent_before_the_reset_is_asked_again_after(std):
    # A request timed out and its slot stays with the device; later ones
    # fail at once while it is silent. The reset device holds no slot
    # and has not been silent: every operation goes out again.
    std.transport.device_paused = True
    expect_errno(errno.ETIMEDOUT, std.get_value, 0)
    expect_errno(errno.ETIMEDOUT, std.get_value, 1)
    std.transport.device_paused = False
    std.freeze()
    std.restore()
    for _ in range(20):
        assert std.get_value(0) == 0


def test_a_silent_device_costs_the_restore_one_timeout(std):
    for line in range(8):
        std.direction_output(line, 1)
    std.freeze()
    std.transport.device_paused = True
    timeouts = std.stats["timeouts"]
    with pytest.raises(VirtioGpioError) as info:
        std.restore()
    assert info.value.errno == errno.ETIMEDOUT
    # Line 0's first request timed out, and the replay stopped there.
    assert std.stats["timeouts"] == timeouts + 1
    # Operations are accepted again, and work once the device answers
    # (the late reply ends the silence).
    std.transport.device_paused = False
    std.transport.run()
    std.direction_output(7, 0)
    assert std.device.lines[7].value == 0


def test_id30_restore_posts_receive_buffers_and_replays(id30):
    id30.request(1)
    id30.direction_output(1, 1)
    id30.request(2)
    id30.direction_input(2)
    id30.watch(2, Edge.RISING)
    id30.freeze()
    assert not id30.device.lines[1].requested               # it forgot
    id30.restore()
    lines = id30.device.lines
    assert lines[1].requested and lines[1].direction == Id30Direction.OUT
    assert lines[1].value == 1
    assert lines[2].requested and lines[2].direction == Id30Direction.IN
    rx = id30.transport.ring_stats(id30_wire.VQ_RX)
    assert rx["avail"] + rx["used"] == 8     # every receive buffer posted
    id30.transport.set_input(2, 1)
    assert [e.line for e in id30.read_events()] == [2]


def test_id30_a_direction_given_up_on_is_set_again_after_the_reset(id30):
    # The output direction is what gpiolib believes; the DIRECTION_INPUT
    # that followed was given up on, so the replay tells no direction, and
    # the reset device's is unknown (the 2020 spec names none). The next
    # use of the line sets the output direction again, at the level set.
    id30.request(3)
    id30.direction_output(3, 1)
    id30.transport.device_paused = True
    expect_errno(errno.ETIMEDOUT, id30.direction_input, 3)
    id30.transport.device_paused = False
    id30.transport.run()
    id30.freeze()
    id30.restore()
    n = len(id30.device.received)
    assert id30.set_value(3, 0) == 0
    assert [id30_wire.decode(r) for r in list(id30.device.received)[n:]] == [
        (id30_wire.MsgType.DIRECTION_OUTPUT, 3, 0),
        (id30_wire.MsgType.SET_VALUE, 3, 0)]
    assert id30.device.lines[3].direction == Id30Direction.OUT


def test_freeze_and_restore_repeat(std):
    std.watch(0, Edge.BOTH)
    std.direction_output(1, 1)
    for _ in range(5):
        std.freeze()
        std.restore()
    std.transport.set_input(0, 1)
    assert [e.line for e in std.read_events()] == [0]
    assert std.device.lines[1].value == 1
    assert std.stats["bad_token"] == 0


def test_close_while_frozen_frees_everything(make_chip):
    chip = make_chip(4, protocol="standard")
    chip.watch(1, Edge.BOTH)
    chip.freeze()
    chip.close()        # the no_leaks fixture checks every allocation



def test_id30_a_read_after_the_reset_drives_no_line_nobody_drove(id30):
    # gpiolib only read this line's direction (an output the device set
    # up itself); no consumer chose a level. After the reset the device's
    # direction is unknown, and a read must not set the line to output at
    # a level of the driver's invention.
    id30.device.lines[4].direction = Id30Direction.OUT
    assert id30.get_direction(4) == Id30Direction.OUT
    id30.freeze()
    id30.restore()
    id30.device.lines[4].direction = Id30Direction.IN
    n = len(id30.device.received)
    id30.get_value(4)
    assert [id30_wire.decode(r)[0] for r in
            list(id30.device.received)[n:]] == [id30_wire.MsgType.GET_VALUE]
    assert id30.device.lines[4].direction == Id30Direction.IN
