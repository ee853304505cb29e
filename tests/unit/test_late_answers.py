"""A request the driver gave up on and the device applied late, or
never. Its late answer says what the device did, so the driver's record
of the line (direction; standard: trigger type) ends as the device is,
and a direction given up on is undone before the line is next used.
The standard protocol first, then the 2020 one (device ID 30)."""

import errno

import pytest

from sim_cases import time_out
from virtio_gpio import Chip, Edge, Id30Device, SimTransport, VirtioGpioError
from virtio_gpio import Direction as LineDirection
from virtio_gpio._binding import lib
from virtio_gpio.devices.standard import REQUEST, Direction, IrqType, Msg
from virtio_gpio.wire import id30 as id30_wire
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
    assert std.get_direction(2) is LineDirection.IN
    n = len(std.device.received)
    std.get_value(2)
    assert sent(std, n) == [(Msg.GET_VALUE, 2, 0)]


# -- The 2020 protocol (device ID 30) ---------------------------------------
#
# DIRECTION_INPUT and DIRECTION_OUTPUT are one request each, answered on
# the receive queue by line and type: a late answer is the reply of a type
# still owed on its line, and the ping after a timeout (GET_DIRECTION
# where free) says the device's direction too.

ID30_IN = id30_wire.MsgType.DIRECTION_INPUT
ID30_OUT = id30_wire.MsgType.DIRECTION_OUTPUT
ID30_GET_DIR = id30_wire.MsgType.GET_DIRECTION
ID30_GET = id30_wire.MsgType.GET_VALUE
ID30_SET = id30_wire.MsgType.SET_VALUE


class LosingDevice(Id30Device):
    """Loses the next request of each type in ``lose``: it is never
    applied and never answered (received still lists it)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lose = set()

    def handle(self, request):
        msg_type = id30_wire.decode(request)[0]
        if msg_type not in self.lose:
            return super().handle(request)
        self.lose.discard(msg_type)
        self.requests_seen += 1
        self.received.append(bytes(request))
        return self.release_delayed()


@pytest.fixture
def id30(no_leaks):
    with Chip(SimTransport(LosingDevice(4))) as chip:
        yield chip


def id30_sent(chip, since):
    return [id30_wire.decode(r) for r in list(chip.device.received)[since:]]


def id30_killed(chip, call, *args):
    """``call``'s wait is killed (a signal) before the device answers:
    the request stays queued, and no ping goes out."""
    chip.transport.interrupt_next_waits = 1
    with pytest.raises(VirtioGpioError) as info:
        call(*args)
    assert info.value.errno == errno.EINTR


def test_id30_an_output_direction_given_up_on_is_undone_before_the_next_read(
        id30):
    # gpiolib takes the line for an input: the DIRECTION_OUTPUT failed.
    # Applied late, it left the device driving the line; before the line
    # is next read the input direction is set again.
    id30.direction_input(1)
    expect_timeout(id30, id30.direction_output, 1, 1)
    assert id30.device.lines[1].direction == id30_wire.Direction.OUT
    n = len(id30.device.received)
    assert id30.get_value(1) == 1       # the level it drove, now an input's
    assert id30_sent(id30, n) == [(ID30_IN, 1, 0), (ID30_GET, 1, 0)]
    assert id30.device.lines[1].direction == id30_wire.Direction.IN
    # In step again: nothing more to undo.
    n = len(id30.device.received)
    id30.get_value(1)
    assert id30_sent(id30, n) == [(ID30_GET, 1, 0)]


def test_id30_an_input_direction_given_up_on_is_undone_before_the_next_write(
        id30):
    # The other way round: gpiolib drives an output the device made an
    # input late, which would refuse the level (EPERM). The output
    # direction goes again first, at the level being set.
    id30.direction_output(2, 1)
    expect_timeout(id30, id30.direction_input, 2)
    assert id30.device.lines[2].direction == id30_wire.Direction.IN
    n = len(id30.device.received)
    assert id30.set_value(2, 0) == 0
    assert id30_sent(id30, n) == [(ID30_OUT, 2, 0), (ID30_SET, 2, 0)]
    assert id30.device.lines[2].direction == id30_wire.Direction.OUT
    assert id30.device.lines[2].value == 0


def test_id30_an_output_direction_killed_and_applied_late_is_undone(id30):
    # A killed wait gives up as a timeout does, without the ping: the late
    # answer alone says the device applied it.
    id30.direction_input(1)
    id30_killed(id30, id30.direction_output, 1, 1)
    id30.transport.run()
    assert id30.device.lines[1].direction == id30_wire.Direction.OUT
    assert id30.stats["late_replies"] == 1
    n = len(id30.device.received)
    id30.get_value(1)
    assert id30_sent(id30, n) == [(ID30_IN, 1, 0), (ID30_GET, 1, 0)]
    assert id30.device.lines[1].direction == id30_wire.Direction.IN


def test_id30_a_killed_direction_still_queued_is_undone_after_it(id30):
    # Nothing has answered yet when the line is read: the device's
    # direction is unknown, so the callers' goes again, after the one
    # given up on (the device answers a line's requests in order).
    id30.direction_input(1)
    n = len(id30.device.received)
    id30_killed(id30, id30.direction_output, 1, 1)
    id30.get_value(1)
    assert id30_sent(id30, n) == [(ID30_OUT, 1, 1), (ID30_IN, 1, 0),
                                  (ID30_GET, 1, 0)]
    assert id30.device.lines[1].direction == id30_wire.Direction.IN


def test_id30_a_direction_given_up_on_and_never_applied_is_set_once_more(
        id30):
    # The device lost the DIRECTION_OUTPUT; the ping after the timeout
    # says the line is still an input, but the OUTPUT is still owed as
    # far as the driver knows, so the input direction goes once more (a
    # live answer settles every owed one), then never again.
    id30.direction_input(1)
    id30.device.lose.add(ID30_OUT)
    time_out(id30, id30.direction_output, 1, 1)
    assert id30.device.lines[1].direction == id30_wire.Direction.IN
    n = len(id30.device.received)
    assert id30.get_value(1) == 0
    assert id30_sent(id30, n) == [(ID30_IN, 1, 0), (ID30_GET, 1, 0)]
    n = len(id30.device.received)
    assert id30.get_value(1) == 0
    assert id30_sent(id30, n) == [(ID30_GET, 1, 0)]


def test_id30_a_killed_direction_never_answered_is_set_again(id30):
    # Lost, and no ping to ask: the device's direction is unknown until
    # the callers' is set again, which the device then has whatever it did.
    id30.direction_input(1)
    id30.device.lose.add(ID30_OUT)
    id30_killed(id30, id30.direction_output, 1, 1)
    id30.transport.run()
    n = len(id30.device.received)
    assert id30.get_value(1) == 0
    assert id30_sent(id30, n) == [(ID30_IN, 1, 0), (ID30_GET, 1, 0)]
    n = len(id30.device.received)
    id30.get_value(1)
    assert id30_sent(id30, n) == [(ID30_GET, 1, 0)]


def test_id30_a_direction_applied_late_as_the_callers_needs_no_undo(id30):
    # The late answer is recorded: the device has the direction gpiolib
    # believes, and nothing is sent again.
    id30.direction_input(3)
    id30_killed(id30, id30.direction_input, 3)
    id30.transport.run()
    n = len(id30.device.received)
    id30.get_value(3)
    assert id30_sent(id30, n) == [(ID30_GET, 3, 0)]


def test_id30_an_undo_of_an_owed_type_resynchronises_first(id30):
    # The direction to set again is the type given up on, its reply still
    # owed: the probe goes first, and its answer (GET_DIRECTION) says the
    # device has the callers' direction, so nothing more is needed.
    id30.direction_input(1)
    n = len(id30.device.received)
    id30_killed(id30, id30.direction_input, 1)
    id30.get_value(1)
    assert id30_sent(id30, n) == [(ID30_IN, 1, 0), (ID30_GET_DIR, 1, 0),
                                  (ID30_GET, 1, 0)]
    assert id30.stats["resyncs"] == 1


def test_id30_an_undo_that_times_out_fails_the_read_and_comes_again(id30):
    id30.direction_input(1)
    expect_timeout(id30, id30.direction_output, 1, 1)
    id30.device.lose.add(ID30_IN)
    n = len(id30.device.received)
    time_out(id30, id30.get_value, 1)
    # The undo was lost, so the read never went; the ping then said the
    # line is still an output.
    assert id30_sent(id30, n) == [(ID30_IN, 1, 0), (ID30_GET_DIR, 1, 0)]
    # The next read undoes it, after a probe: DIRECTION_INPUT is owed.
    n = len(id30.device.received)
    assert id30.get_value(1) == 1
    assert id30_sent(id30, n) == [(ID30_GET_DIR, 1, 0), (ID30_IN, 1, 0),
                                  (ID30_GET, 1, 0)]
    assert id30.device.lines[1].direction == id30_wire.Direction.IN


def test_id30_a_direction_read_is_what_gpiolib_then_believes(id30):
    id30.direction_input(2)
    expect_timeout(id30, id30.direction_output, 2, 1)
    assert id30.get_direction(2) is LineDirection.OUT
    n = len(id30.device.received)
    assert id30.get_value(2) == 1
    assert id30_sent(id30, n) == [(ID30_GET, 2, 0)]


def test_id30_a_late_answer_with_another_direction_owed_leaves_it_unknown(
        id30):
    # OUTPUT then INPUT both given up on; the device applied both, but
    # only the OUTPUT's answer has arrived. The line is an input at the
    # device, whatever that answer says: before the next read the
    # callers' output is set again.
    id30.direction_output(1, 1)
    id30_killed(id30, id30.direction_output, 1, 0)
    id30_killed(id30, id30.direction_input, 1)
    replies = id30.device.process(id30.transport.loop.take_requests())
    assert id30.device.lines[1].direction == id30_wire.Direction.IN
    id30.transport.deliver(replies[:1])     # the OUTPUT's answer alone
    n = len(id30.device.received)
    id30.get_value(1)
    assert id30_sent(id30, n)[0] == (ID30_OUT, 1, 1)
    assert id30.device.lines[1].direction == id30_wire.Direction.OUT
    id30.transport.deliver(replies[1:])
