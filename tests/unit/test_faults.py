"""Fault injection: a misbehaving device gives clear errors, never corruption."""

import errno

import pytest

from sim_cases import ID30_CORRUPT_REPLIES, time_out
from virtio_gpio import Fault, MsgType, VirtioGpioError
from virtio_gpio.wire import id30 as id30_wire


def expect_errno(err, call, *args):
    with pytest.raises(VirtioGpioError) as info:
        call(*args)
    assert info.value.errno == err


@pytest.fixture
def out_chip(chip):
    chip.direction_output(0, 1)
    chip.direction_output(1, 0)
    return chip


def test_dropped_reply_should_time_out_then_recover(out_chip):
    out_chip.device.inject(Fault.DROP)
    time_out(out_chip, out_chip.get_value, 0)
    assert out_chip.stats["timeouts"] == 1
    # Same type next: the core must resync before trusting a reply.
    assert out_chip.get_value(0) == 1
    assert out_chip.stats["resyncs"] == 1
    assert out_chip.get_value(0) == 1
    assert out_chip.stats["resyncs"] == 1


def test_late_reply_before_other_request_is_dropped(out_chip):
    out_chip.device.inject(Fault.DELAY)
    time_out(out_chip, out_chip.get_value, 0)
    out_chip.set_value(0, 0)
    # The delayed reply, and the ping's, which came after it.
    assert out_chip.stats["late_replies"] == 2
    assert out_chip.get_value(0) == 0
    assert out_chip.stats["resyncs"] == 0


def test_interrupted_wait_does_not_read_stale_reply(out_chip):
    # The 2020 patch (v3) ignored the wait result and returned whatever
    # priv->last held.
    out_chip.transport.interrupt_next_waits = 1
    expect_errno(errno.EINTR, out_chip.get_value, 0)
    out_chip.set_value(0, 0)
    assert out_chip.get_value(0) == 0
    assert out_chip.stats["late_replies"] == 1


def test_duplicate_reply_is_rejected(out_chip):
    out_chip.device.inject(Fault.DUPLICATE)
    assert out_chip.get_value(0) == 1
    assert out_chip.stats["unexpected"] == 1
    assert out_chip.last_error == errno.ENOMSG
    assert out_chip.get_value(0) == 1


@pytest.mark.parametrize("fault, counter, err", ID30_CORRUPT_REPLIES)
def test_corrupt_reply_is_rejected_counted_and_harmless(out_chip, fault,
                                                        counter, err):
    before = out_chip.stats
    out_chip.device.inject(fault)
    time_out(out_chip, out_chip.get_value, 0)
    after = out_chip.stats
    assert after[counter] == before[counter] + 1
    assert after["replies"] == before["replies"]
    assert out_chip.last_error == err
    # The host hears about it too (the kernel logs it, ratelimited).
    ((reported, why),) = out_chip.transport.rejections
    assert reported == err and why
    # The line works again and other lines never noticed.
    assert out_chip.get_value(0) == 1
    assert out_chip.get_value(1) == 0


def test_reordered_replies_on_two_lines_match_their_requests(out_chip):
    # Line 1's request goes out while line 0's is in flight; the device
    # answers both in one batch, reversed.
    got = {}
    out_chip.device.inject(Fault.REORDER)
    out_chip.transport.before_wait = lambda line: got.setdefault(
        1, out_chip.get_value(1))
    got[0] = out_chip.get_value(0)
    assert got == {0: 1, 1: 0}


def test_device_errno_out_of_range_is_rejected(out_chip):
    # Replies may carry -1..-4095; anything more negative is garbage.
    transport = out_chip.transport
    transport.device_paused = True
    transport.before_wait = lambda line: transport.deliver(
        out_chip.device.raw_event(id30_wire.reply_type(MsgType.GET_VALUE),
                                  0, -5000))
    expect_errno(errno.ETIMEDOUT, out_chip.get_value, 0)
    assert out_chip.stats["bad_value"] == 1


def test_device_errno_is_passed_through(out_chip):
    transport = out_chip.transport
    transport.device_paused = True
    transport.before_wait = lambda line: transport.deliver(
        out_chip.device.raw_event(id30_wire.reply_type(MsgType.GET_VALUE),
                                  0, -errno.EIO))
    expect_errno(errno.EIO, out_chip.get_value, 0)


def test_reply_without_request_is_rejected(out_chip):
    out_chip.transport.deliver(out_chip.device.raw_event(
        id30_wire.reply_type(MsgType.GET_VALUE), 3, 1))
    assert out_chip.stats["unexpected"] == 1
    assert out_chip.get_value(3) == 0


def test_reply_of_other_type_is_rejected(out_chip):
    transport = out_chip.transport
    transport.device_paused = True
    transport.before_wait = lambda line: transport.deliver(
        out_chip.device.raw_event(id30_wire.reply_type(MsgType.GET_DIRECTION),
                                  0, 0))
    expect_errno(errno.ETIMEDOUT, out_chip.get_value, 0)
    assert out_chip.stats["unexpected"] == 1


@pytest.mark.parametrize("msg_type", [
    MsgType.GET_VALUE,                       # request type without reply bit
    id30_wire.MSG_REPLY | 0x1000 | MsgType.GET_VALUE,  # reserved bit set
    id30_wire.MSG_REPLY | MsgType.HOST_LEVEL,  # reply to a non-request
    0x0000, 0xFFFF,
])
def test_unknown_types_are_rejected(out_chip, msg_type):
    out_chip.transport.deliver(out_chip.device.raw_event(msg_type, 0, 0))
    assert out_chip.stats["bad_type"] == 1
    assert out_chip.last_error == errno.EPROTO


def test_line_with_every_probe_type_owed_reports_busy(out_chip):
    transport = out_chip.transport
    for call in (out_chip.get_direction, out_chip.get_value, out_chip.request):
        out_chip.device.inject(Fault.DROP)
        time_out(out_chip, call, 0)
    # All three side-effect-free types owed: nothing can tell a new reply
    # from a late one, so the core refuses rather than guess.
    for call in (out_chip.get_direction, out_chip.get_value, out_chip.request):
        expect_errno(errno.EBUSY, call, 0)
    # Setup, dropped, and the pings that ended each silence: no more.
    assert transport.device.requests_seen == 2 + 3 + out_chip.stats["pings"]
    # A request of another type goes through and clears the owed set.
    out_chip.set_value(0, 1)
    assert out_chip.get_value(0) == 1
    out_chip.request(0)


def test_request_is_a_probe_of_last_resort(out_chip):
    for call in (out_chip.get_direction, out_chip.get_value):
        out_chip.device.inject(Fault.DROP)
        time_out(out_chip, call, 0)
    assert out_chip.get_value(0) == 1
    assert out_chip.stats["resyncs"] == 1
    sent = [id30_wire.decode(m)[0] for m in out_chip.device.received]
    assert sent[-2:] == [MsgType.REQUEST, MsgType.GET_VALUE]


def test_resync_probe_answered_with_an_errno_is_not_the_callers_error(
        no_leaks):
    # The resync probe (GET_DIRECTION here) is the core's question, not
    # the caller's: the device refusing it still puts the line back in
    # step, and the caller's GET_VALUE is then sent and answered. Before,
    # the probe's EIO came back as the GET_VALUE's result.
    from virtio_gpio import Chip, SimTransport
    from virtio_gpio.devices import Id30Device

    class DirectionRefused(Id30Device):
        def _answer(self, msg_type, line_no, value):
            if msg_type == MsgType.GET_DIRECTION:
                return -errno.EIO
            return super()._answer(msg_type, line_no, value)

    with Chip(SimTransport(DirectionRefused(4))) as chip:
        chip.direction_output(0, 1)
        chip.device.inject(Fault.DROP)
        time_out(chip, chip.get_value, 0)
        assert chip.get_value(0) == 1
        assert chip.stats["resyncs"] == 1
        sent = [id30_wire.decode(r)[:2] for r in chip.device.received]
        assert sent[-2:] == [(MsgType.GET_DIRECTION, 0),
                             (MsgType.GET_VALUE, 0)]
