"""Happy paths and argument checking of every operation."""

import errno

import pytest

from virtio_gpio import Direction, VirtioGpioError


def test_request_should_mark_line_requested(chip):
    chip.request(3)
    assert chip.device.lines[3].requested
    chip.request(3)  # repeated requests succeed: there is no "free"


def test_direction_output_should_set_direction_and_level(chip):
    chip.direction_output(1, 1)
    assert chip.device.lines[1].direction == Direction.OUT
    assert chip.device.lines[1].value == 1
    assert chip.get_direction(1) is Direction.OUT
    assert chip.get_value(1) == 1


def test_direction_input_should_set_input(chip):
    chip.direction_output(2, 0)
    chip.direction_input(2)
    assert chip.get_direction(2) is Direction.IN
    assert chip.device.lines[2].direction == Direction.IN


def test_set_value_should_drive_output(chip):
    chip.direction_output(4, 0)
    assert chip.set_value(4, 1) == 1
    assert chip.device.lines[4].value == 1
    assert chip.get_value(4) == 1
    assert chip.set_value(4, False) == 0
    assert chip.get_value(4) == 0


def test_get_value_should_read_input_level(chip):
    chip.direction_input(5)
    chip.transport.set_input(5, 1)
    assert chip.get_value(5) == 1


def test_set_value_on_input_should_raise_device_errno(chip):
    chip.direction_input(6)
    with pytest.raises(VirtioGpioError) as info:
        chip.set_value(6, 1)
    assert info.value.errno == errno.EPERM
    assert chip.device.lines[6].value == 0


@pytest.mark.parametrize("line", [-1, 8, 1000])
def test_bad_line_should_raise_value_error(chip, line):
    with pytest.raises(ValueError):
        chip.get_value(line)
    assert chip.device.requests_seen == 0


@pytest.mark.parametrize("bad", ["1", 1.0, None])
def test_non_integer_line_should_raise_type_error(chip, bad):
    with pytest.raises(TypeError):
        chip.get_value(bad)


@pytest.mark.parametrize("value", [2, -1])
def test_bad_level_should_raise_value_error(chip, value):
    with pytest.raises(ValueError):
        chip.direction_output(0, value)


def test_core_should_reject_bad_arguments_itself(chip):
    # The C API checks too, for callers other than this Python layer.
    from virtio_gpio._binding import ffi, lib
    core = chip._core
    out = ffi.new("uint32_t *")
    assert lib.vgpio_request(core, 8, 5, 0, out) == -errno.EINVAL
    assert lib.vgpio_request(core, 0, 0x11, 0, out) == -errno.EINVAL
    assert lib.vgpio_request(core, 0, 0, 0, out) == -errno.EINVAL
    assert lib.vgpio_request(core, 0, 6, 2, out) == -errno.EINVAL
    assert chip.device.requests_seen == 0


def test_closed_chip_should_refuse_operations(make_chip):
    chip = make_chip(2)
    chip.close()
    chip.close()
    with pytest.raises(ValueError):
        chip.get_value(0)
