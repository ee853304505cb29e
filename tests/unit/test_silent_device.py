"""A device that stops answering: one timeout, then fast failures until it
answers again, and then the lines work without a rebind."""

import errno

import pytest

from virtio_gpio import Edge, Fault, VirtioGpioError


@pytest.fixture(params=["id30", "standard"])
def any_chip(make_chip, request):
    return make_chip(8, protocol=request.param)


def expect_errno(err, call, *args):
    with pytest.raises(VirtioGpioError) as info:
        call(*args)
    assert info.value.errno == err


def count_waits(chip):
    """A list that gets one entry per wait of the core."""
    waits = []
    real = chip.transport.on_wait

    def on_wait(line):
        waits.append(line)
        return real(line)

    chip.transport.on_wait = on_wait
    return waits


def test_one_timeout_then_fast_failures_until_the_device_answers(any_chip):
    any_chip.direction_output(3, 1)
    waits = count_waits(any_chip)
    any_chip.transport.device_paused = True
    expect_errno(errno.ETIMEDOUT, any_chip.get_value, 0)
    seen = any_chip.device.requests_seen
    for line in range(8):
        expect_errno(errno.ETIMEDOUT, any_chip.get_value, line)
    expect_errno(errno.ETIMEDOUT, any_chip.direction_output, 5, 1)
    # One wait, the first; the rest failed without going to the device.
    assert waits == [0]
    assert any_chip.stats["timeouts"] == 1
    assert any_chip.stats["silences"] == 1
    assert any_chip.stats["silent_fails"] == 9
    assert any_chip.device.requests_seen == seen
    # The device answers again: what it held (the late reply, the ping)
    # ends the silence, and every line works.
    any_chip.transport.device_paused = False
    any_chip.transport.run()
    assert any_chip.get_value(3) == 1
    any_chip.direction_output(5, 1)
    assert any_chip.get_value(5) == 1
    assert any_chip.stats["timeouts"] == 1


def test_a_device_that_lost_one_request_answers_the_ping(any_chip):
    any_chip.direction_output(2, 1)
    any_chip.device.inject(Fault.DROP)
    expect_errno(errno.ETIMEDOUT, any_chip.get_value, 2)
    assert any_chip.stats["pings"] == 1
    # Nothing is owed but the ping: its answer alone ends the silence.
    any_chip.transport.run()
    assert any_chip.get_value(2) == 1


def test_it_can_fall_silent_again_and_costs_one_timeout_each_time(any_chip):
    waits = count_waits(any_chip)
    for _ in range(3):
        any_chip.transport.device_paused = True
        expect_errno(errno.ETIMEDOUT, any_chip.get_value, 1)
        expect_errno(errno.ETIMEDOUT, any_chip.get_value, 1)
        any_chip.transport.device_paused = False
        any_chip.transport.run()
        assert any_chip.get_value(1) == 0
    assert any_chip.stats["silences"] == 3
    assert any_chip.stats["timeouts"] == 3
    assert len(waits) == 6  # per round: the timeout, the working call


def test_an_interrupted_wait_is_no_silence(any_chip):
    # A signal ends the wait (the kernel's is killable): the device said
    # nothing about itself, so the next call goes to it as usual.
    any_chip.direction_output(4, 1)
    any_chip.transport.interrupt_next_waits = 1
    expect_errno(errno.EINTR, any_chip.get_value, 4)
    assert any_chip.get_value(4) == 1
    assert any_chip.stats["silences"] == 0


def test_an_event_ends_the_silence(make_chip):
    chip = make_chip(4, protocol="id30")
    chip.watch(1, Edge.BOTH)
    chip.transport.device_paused = True
    expect_errno(errno.ETIMEDOUT, chip.get_value, 0)
    # The device speaks unasked: it is there again.
    chip.transport.set_input(1, 1)
    chip.transport.device_paused = False
    assert chip.get_value(1) == 1
