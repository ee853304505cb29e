"""Probe: the config is read in one piece (config generation), boundedly.

A device may change its config while the driver reads it; the transport's
generation counter tells. The core reads the whole config again when the
counter moved, and refuses a device whose config never holds still
instead of retrying for ever as the kernel's virtio_cread*() helpers do.
"""

import errno

import pytest

from sim_cases import probe
from virtio_gpio import Chip, ProbeError, SimTransport
from virtio_gpio.wire import id30 as id30_wire
from virtio_gpio._binding import lib
from virtio_gpio.devices import RawConfigDevice
from virtio_gpio.devices.standard import StandardDevice

OLD = id30_wire.build_config(4, b"a\0b\0c\0d\0", name=b"old")
NEW = id30_wire.build_config(8, b"".join(b"n%d\0" % i for i in range(8)),
                            name=b"new")


def reads_of_one_probe(device):
    chip = probe(device)
    try:
        return chip.transport.host.cfg_reads
    finally:
        chip.close()


def test_a_change_at_any_read_gives_the_new_config_whole(no_leaks):
    # Changed after the line count and before the names, a single read
    # would pair 4 lines with the names of 8.
    for at in range(1, reads_of_one_probe(RawConfigDevice(OLD)) + 1):
        chip = probe(RawConfigDevice(OLD), config_change=(at, NEW))
        try:
            assert (chip.name, chip.ngpio) == ("new", 8), at
            assert chip.line_names == ["n%d" % i for i in range(8)], at
        finally:
            chip.close()


def test_a_torn_read_that_fails_the_checks_is_read_again(no_leaks):
    # The version byte is read from a config being replaced: refused on
    # its own (version 2), but the generation says the read was torn.
    refused = id30_wire.build_config(4, b"", name=b"old", version=2)
    with pytest.raises(ProbeError):
        probe(RawConfigDevice(refused))
    chip = probe(RawConfigDevice(refused), config_change=(1, NEW))
    try:
        assert (chip.name, chip.ngpio) == ("new", 8)
    finally:
        chip.close()


def test_a_change_after_the_last_read_is_not_seen(no_leaks):
    reads = reads_of_one_probe(RawConfigDevice(OLD))
    chip = probe(RawConfigDevice(OLD), config_change=(reads + 1, NEW))
    try:
        assert (chip.name, chip.ngpio) == ("old", 4)
        assert chip.transport.host.cfg_reads == reads
    finally:
        chip.close()


@pytest.mark.parametrize("make_device", [
    lambda: RawConfigDevice(OLD),
    lambda: StandardDevice(["a", "b"]),
], ids=["id30", "standard"])
def test_a_config_that_never_holds_still_is_refused_after_a_bound(
        no_leaks, make_device):
    once = reads_of_one_probe(make_device())
    transport = SimTransport(make_device(), config_always_changing=True)
    try:
        with pytest.raises(ProbeError) as info:
            Chip(transport)
        assert info.value.errno == errno.EIO
        assert info.value.reason == \
            "config space kept changing while it was read"
        # Every try read the whole config, and there were VGPIO_CFG_TRIES.
        assert transport.host.cfg_reads == once * lib.VGPIO_CFG_TRIES
    finally:
        transport.close()
