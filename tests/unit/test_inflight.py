"""Requests on several lines in flight at once, and teardown while waiting."""

import errno

import pytest

from sim_cases import time_out
from virtio_gpio import Fault, VirtioGpioError, simulated_chip
from virtio_gpio._binding import lib


def test_two_lines_in_flight_do_not_clobber(chip):
    # The 2020 patch (v3) kept one shared reply slot; here each line has
    # its own.
    chip.direction_output(0, 1)
    chip.direction_output(1, 0)
    results = {}
    chip.transport.before_wait = lambda line: results.setdefault(
        1, chip.get_value(1))
    results[0] = chip.get_value(0)
    assert results == {0: 1, 1: 0}


def test_many_lines_in_flight_at_once(make_chip):
    chip = make_chip(16)
    for line in range(16):
        chip.direction_output(line, line % 2)
    results = {}

    def nest(line):
        if line + 1 < 16:
            chip.transport.before_wait = lambda l, n=line + 1: nest(n)
        results[line] = chip.get_value(line)

    nest(0)
    assert results == {line: line % 2 for line in range(16)}


def test_same_line_twice_in_flight_is_busy(chip):
    failures = []

    def again(line):
        try:
            chip.get_value(line)
        except VirtioGpioError as exc:
            failures.append(exc.errno)

    chip.transport.before_wait = again
    assert chip.get_value(2) == 0
    assert failures == [errno.EBUSY]


def test_close_with_request_in_flight_fails_it_with_enodev(no_leaks):
    chip = simulated_chip(4)
    chip.transport.device_paused = True
    chip.transport.before_wait = lambda line: lib.vgpio_core_kill(chip._core)
    with pytest.raises(VirtioGpioError) as info:
        chip.get_value(1)
    assert info.value.errno == errno.ENODEV
    assert lib.vgpio_core_idle(chip._core)
    with pytest.raises(VirtioGpioError) as info:
        chip.get_value(1)
    assert info.value.errno == errno.ENODEV
    chip.close()


def test_core_not_idle_while_request_waits(no_leaks):
    chip = simulated_chip(2)
    seen = []
    chip.transport.before_wait = lambda line: seen.append(
        lib.vgpio_core_idle(chip._core))
    chip.get_value(0)
    assert seen == [False]
    assert lib.vgpio_core_idle(chip._core)
    chip.close()


def test_timeouts_leave_other_lines_untouched(chip):
    chip.direction_output(5, 1)
    chip.device.inject(Fault.DROP)
    time_out(chip, chip.get_value, 4)
    assert chip.get_value(5) == 1
    assert chip.stats["resyncs"] == 0
