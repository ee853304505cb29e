"""Shared by the tests of the core on simulated devices: probing a device,
a request that times out, and the tables of device faults that more than
one file tries."""

import errno

import pytest

from virtio_gpio import Chip, ConfigFault, Fault, SimTransport, VirtioGpioError


def probe(device, **transport_options):
    """A chip probing ``device``; the transport is closed if probe fails."""
    transport = SimTransport(device, **transport_options)
    try:
        return Chip(transport)
    except BaseException:
        transport.close()
        raise


def time_out(chip, call, *args):
    """``call`` times out; then the device runs, as a real one does
    meanwhile, and answers what it still holds: the ping the timeout sent
    at least, which ends the silence (until then every request fails at
    once with ETIMEDOUT)."""
    with pytest.raises(VirtioGpioError) as info:
        call(*args)
    assert info.value.errno == errno.ETIMEDOUT
    chip.transport.run()


#: replies the core rejects whichever protocol carries them: (the fault
#: the device injects, the stats counter that counts it, the errno it is
#: rejected with)
CORRUPT_REPLIES = [
    (Fault.CORRUPT_TYPE, "bad_type", errno.EPROTO),
    (Fault.CORRUPT_VALUE, "bad_value", errno.EINVAL),
    (Fault.SHORT_LEN, "bad_len", errno.EBADMSG),
    (Fault.LONG_LEN, "bad_len", errno.EMSGSIZE),
    (Fault.ZERO_LEN, "bad_len", errno.EBADMSG),
    (Fault.HUGE_LEN, "bad_len", errno.EMSGSIZE),
]

#: the same for the ID 30 protocol, whose replies also name a line (a
#: standard reply comes back in its request's chain and names none)
ID30_CORRUPT_REPLIES = CORRUPT_REPLIES + [
    (Fault.CORRUPT_LINE, "bad_line", errno.ERANGE),
]

#: config spaces probe refuses, per protocol: (fault, errno)
BOGUS_CONFIGS = {
    "id30": [
        (ConfigFault.VERSION_2, errno.ENODEV),
        (ConfigFault.ZERO_LINES, errno.EINVAL),
        (ConfigFault.TOO_MANY_LINES, errno.EINVAL),
        # NAMES_BEYOND_SPACE: see test_config.py's
        # test_untold_config_size_reads_nothing_past_256_bytes
    ],
    "standard": [
        (ConfigFault.ZERO_LINES, errno.EINVAL),
        # TOO_MANY_LINES: 65535 is a count the spec allows, see
        # test_standard_core.py's test_every_16_bit_line_count_is_served
        # NAMES_BEYOND_SPACE: the lines work without names, see
        # test_standard_core.py's test_a_names_block_too_big_is_left_out
    ],
}
