"""Probe: config-space parsing and validation (vgpio_core_probe)."""

import errno
import struct

import pytest

from sim_cases import BOGUS_CONFIGS, probe
from virtio_gpio import ConfigFault, ProbeError, simulated_chip
from virtio_gpio.devices import RawConfigDevice
from virtio_gpio.wire import id30 as id30_wire
from virtio_gpio._binding import lib


def probe_raw(config, **transport_options):
    return probe(RawConfigDevice(config), **transport_options)


def header(ngpio=4, names_size=0, name=b"dev", version=1):
    return id30_wire.build_config(ngpio, b"", name=name, version=version,
                                 names_size=names_size)


def test_probe_should_read_name_and_line_names(make_chip):
    chip = make_chip(["a", "bb", "ccc"], name="my-chip")
    assert chip.name == "my-chip"
    assert chip.ngpio == 3
    assert chip.line_names == ["a", "bb", "ccc"]


def test_probe_should_read_config_field_by_field(chip):
    # Whole-struct reads are not what virtio allows; widest field is 4 bytes.
    assert chip.transport.host.cfg_widest_read <= 4
    assert chip.transport.host.cfg_reads > 0


@pytest.mark.parametrize("fault, err", BOGUS_CONFIGS["id30"])
def test_probe_should_reject_bogus_config(make_chip, fault, err):
    with pytest.raises(ProbeError) as info:
        make_chip(4, config_fault=fault)
    assert info.value.errno == err
    assert info.value.reason


def test_probe_should_accept_unterminated_names(make_chip):
    chip = make_chip(["x", "last"], config_fault=ConfigFault.UNTERMINATED_NAMES)
    assert chip.line_names == ["x", "last"]


def test_probe_should_leave_missing_and_empty_names_unset(no_leaks):
    block = b"a\0\0c\0"
    chip = probe_raw(header(ngpio=5, names_size=len(block)) + block)
    try:
        assert chip.line_names == ["a", None, "c", None, None]
    finally:
        chip.close()


def test_probe_should_ignore_names_beyond_ngpio(no_leaks):
    block = b"a\0b\0c\0d\0"
    chip = probe_raw(header(ngpio=2, names_size=len(block)) + block)
    try:
        assert chip.line_names == ["a", "b"]
    finally:
        chip.close()


def test_probe_should_accept_device_name_without_nul(no_leaks):
    name = b"N" * id30_wire.CFG_NAME_LEN
    chip = probe_raw(header(name=name))
    try:
        assert chip.name == name.decode()
    finally:
        chip.close()


def test_told_config_size_bounds_the_names_block(no_leaks):
    # names_size claims 100 bytes but the space holds only 10 of them.
    config = header(ngpio=2, names_size=100) + b"a\0b\0cdefgh"
    with pytest.raises(ProbeError) as info:
        probe_raw(config, tell_config_size=True)
    assert info.value.errno == errno.EINVAL
    assert "beyond the config space" in info.value.reason


def test_told_config_smaller_than_its_fixed_part_is_refused(no_leaks):
    with pytest.raises(ProbeError) as info:
        probe_raw(header()[:id30_wire.CFG_LINE_NAMES - 1],
                  tell_config_size=True)
    assert info.value.errno == errno.ENODEV


@pytest.mark.parametrize("names_size", [
    id30_wire.CFG_WINDOW - id30_wire.CFG_LINE_NAMES + 1, 1000,
    id30_wire.CFG_MAX_SIZE, 0xffffffff])
def test_untold_config_size_reads_nothing_past_256_bytes(no_leaks,
                                                         names_size):
    # What the kernel glue presents: no size. Before the fix the core read
    # names_size bytes (up to 4 KiB) of config: a BUG_ON on virtio-pci.
    # Now the names are left out, and that is said once.
    chip = probe_raw(header(ngpio=2, names_size=names_size) + b"a\0b\0")
    try:
        assert chip.transport.host.cfg_reads_past_window == 0
        assert chip.line_names == [None, None]
        assert [r for r in chip.transport.rejections
                if "256 config bytes" in r[1]] == \
            [(errno.E2BIG, "line names past the 256 config bytes every "
              "transport serves left out")]
    finally:
        chip.close()


def test_names_past_the_window_leave_working_lines(make_chip):
    chip = make_chip(4, config_fault=ConfigFault.NAMES_BEYOND_SPACE)
    assert chip.line_names == [None] * 4
    chip.direction_output(3, 1)
    assert chip.get_value(3) == 1


def test_untold_names_block_may_fill_the_window_exactly(no_leaks):
    block = b"x" * 190 + b"\0y"
    assert id30_wire.CFG_LINE_NAMES + len(block) == id30_wire.CFG_WINDOW
    chip = probe_raw(header(ngpio=2, names_size=len(block)) + block)
    try:
        assert chip.line_names == ["x" * 190, "y"]
    finally:
        chip.close()


def test_untold_names_past_a_short_config_read_as_all_ones(no_leaks):
    # The device's config ends 90 bytes before its names block claims to;
    # within the window the transport serves all ones there, as QEMU does.
    config = header(ngpio=3, names_size=100) + b"a\0b\0cdefgh"
    chip = probe_raw(config)
    try:
        assert chip.line_names[:2] == ["a", "b"]
        assert chip.line_names[2] is None     # "cdefgh" + 0xff bytes
    finally:
        chip.close()


def test_a_transport_serving_less_than_it_promises_is_caught(no_leaks):
    # The harness's own check, so that the tests above can fail: a window
    # of 64 bytes that the core is not told about, and a names block past
    # it, is a read the kernel would crash on.
    from virtio_gpio.errors import ConfigWindowOverrun
    with pytest.raises(ConfigWindowOverrun):
        probe_raw(header(ngpio=2, names_size=100) + b"a\0b\0",
                  config_window=64)


def test_another_protocol_at_id30_is_refused_at_probe(no_leaks):
    # The 2020 patch (v3) numbered its device 30, which the official list
    # later gave to the video encoder; that device's config space
    # (whatever it holds) does not start with our version byte.
    for config in (bytes(64), b"\xff" * 128, struct.pack("<I", 0x1000) * 16):
        with pytest.raises(ProbeError) as info:
            probe_raw(config)
        assert info.value.errno == errno.ENODEV


def test_probe_should_accept_max_lines(make_chip):
    chip = make_chip(id30_wire.MAX_LINES)
    assert chip.ngpio == id30_wire.MAX_LINES
    chip.direction_output(id30_wire.MAX_LINES - 1, 1)
    assert chip.get_value(id30_wire.MAX_LINES - 1) == 1


@pytest.mark.parametrize("proto", ["id30", "standard"])
def test_allocation_failures_fail_probe_without_leaks(proto, no_leaks):
    # The 2020 patch (v3) left allocations unchecked; here every one of
    # them may fail.
    baseline = lib.vgpio_os_live_allocs
    failures = 0
    for n in range(32):
        lib.vgpio_os_fail_after = n
        try:
            chip = simulated_chip(["a", "b"], protocol=proto)
        except ProbeError as exc:
            assert exc.errno == errno.ENOMEM
            failures += 1
            assert lib.vgpio_os_live_allocs == baseline
            continue
        finally:
            lib.vgpio_os_fail_after = -1
        chip.close()
        assert lib.vgpio_os_live_allocs == baseline
        break
    else:
        pytest.fail("probe never succeeded")
    # core, lines, names, tx slots and state, plus rx and the name block
    # (ID 30) or the names response and the eventq buffers (standard)
    assert failures >= 6


HOSTILE_NAMES = ["%s%s%px", "a/b", "forged\nvgpio: line", "tab\there",
                 "caf\u00e9", "del\x7f"]


@pytest.mark.parametrize("protocol_name", ["id30", "standard"])
def test_line_names_the_kernel_cannot_take_as_they_are_are_left_out(
        make_chip, protocol_name):
    # '%' became a printf format in 6.1's gpiod_export(), '/' cannot be
    # in a sysfs name, control and non-ASCII bytes forge or garble logs.
    names = ["ok-0"] + HOSTILE_NAMES + ["with space", "ok_9"]
    chip = make_chip(names, protocol=protocol_name)
    assert chip.line_names == (["ok-0"] + [None] * len(HOSTILE_NAMES) +
                               ["with space", "ok_9"])
    refused = [r for r in chip.transport.rejections if "line names" in r[1]]
    assert refused == [(errno.EINVAL, "line names holding '%', '/' or "
                        "unprintable bytes left out")]


def test_clean_line_names_raise_no_complaint(make_chip):
    chip = make_chip(["a", "b c", "d-e_f.g:h"])
    assert chip.line_names == ["a", "b c", "d-e_f.g:h"]
    assert not chip.transport.rejections


@pytest.mark.parametrize("name", ["%s%s%px", "x\ny", "a/b"])
def test_a_device_name_the_kernel_cannot_take_is_left_out(no_leaks, name):
    chip = probe_raw(header(name=name.encode()))
    try:
        assert chip.name == ""      # the glue then uses the device's name
        assert (errno.EINVAL, "device name holding '%', '/' or unprintable "
                "bytes left out") in chip.transport.rejections
    finally:
        chip.close()
