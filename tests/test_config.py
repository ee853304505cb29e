"""Probe: config-space parsing and validation (vgpio_core_probe)."""

import errno
import struct

import pytest

from virtio_gpio import Chip, ConfigFault, ProbeError, SimTransport
from virtio_gpio.device import RawConfigDevice
from virtio_gpio import protocol
from virtio_gpio._binding import lib


def probe_raw(config):
    transport = SimTransport(RawConfigDevice(config))
    try:
        return Chip(transport)
    except BaseException:
        transport.close()
        raise


def header(ngpio=4, names_size=0, name=b"dev", version=1):
    return protocol.build_config(ngpio, b"", name=name, version=version,
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


@pytest.mark.parametrize("fault, err", [
    (ConfigFault.VERSION_2, errno.ENODEV),
    (ConfigFault.ZERO_LINES, errno.EINVAL),
    (ConfigFault.TOO_MANY_LINES, errno.EINVAL),
    (ConfigFault.NAMES_BEYOND_SPACE, errno.EINVAL),
])
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
    name = b"N" * protocol.CFG_NAME_LEN
    chip = probe_raw(header(name=name))
    try:
        assert chip.name == name.decode()
    finally:
        chip.close()


def test_probe_should_bound_names_by_real_config_size(no_leaks):
    # names_size claims 100 bytes but the space holds only 10 of them.
    config = header(ngpio=2, names_size=100) + b"a\0b\0cdefgh"
    with pytest.raises(ProbeError) as info:
        probe_raw(config)
    assert info.value.errno == errno.EINVAL
    assert "beyond" in info.value.reason


def test_probe_should_reject_truncated_config(no_leaks):
    with pytest.raises(ProbeError) as info:
        probe_raw(header()[:protocol.CFG_LINE_NAMES - 1])
    assert info.value.errno == errno.ENODEV


def test_v3_other_protocol_on_id30_rejected_at_probe(no_leaks):
    # ID 30 is the video encoder in the official list; its config space
    # (whatever it holds) does not start with our version byte.
    for config in (bytes(64), b"\xff" * 128, struct.pack("<I", 0x1000) * 16):
        with pytest.raises(ProbeError) as info:
            probe_raw(config)
        assert info.value.errno == errno.ENODEV


def test_probe_should_accept_max_lines(make_chip):
    chip = make_chip(protocol.MAX_LINES)
    assert chip.ngpio == protocol.MAX_LINES
    chip.direction_output(protocol.MAX_LINES - 1, 1)
    assert chip.get_value(protocol.MAX_LINES - 1) == 1


@pytest.mark.parametrize("proto", ["seed", "standard"])
def test_v3_allocation_failures_fail_probe_without_leaks(proto, no_leaks):
    # v3 left allocations unchecked; here every one of them may fail.
    baseline = lib.vgpio_os_live_allocs
    failures = 0
    for n in range(32):
        lib.vgpio_os_fail_after = n
        try:
            chip = Chip.simulated(["a", "b"], protocol=proto)
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
    # (seed) or the names response and the eventq buffers (standard)
    assert failures >= 6
