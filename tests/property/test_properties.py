"""Property-based: arbitrary device input never crashes or corrupts the core."""

import errno
import re

from hypothesis import given
from hypothesis import strategies as st

from virtio_gpio import Chip, Outgoing, ProbeError, SimTransport, simulated_chip
from virtio_gpio.devices import RawConfigDevice
from virtio_gpio.wire import id30 as id30_wire
from virtio_gpio._binding import lib


def config_strategy():
    """Mostly plausible headers (so probe gets far), sometimes pure noise."""
    plausible = st.builds(
        lambda version, ngpio, names_size, name, block: id30_wire.build_config(
            ngpio, block, name=name, version=version, names_size=names_size),
        st.sampled_from([1, 1, 1, 0, 2, 255]),
        st.integers(0, 0xFFFF) | st.integers(1, 16),
        st.integers(0, 0xFFFFFFFF) | st.integers(0, 64),
        st.binary(max_size=32),
        st.binary(max_size=128),
    )
    return plausible | st.binary(max_size=512)


#: printable ASCII but '%' and '/'
KERNEL_SAFE_NAME = re.compile(r"[\x20-\x24\x26-\x2e\x30-\x7e]*")


@given(config=config_strategy(), told=st.booleans())
def test_arbitrary_config_gives_chip_or_clear_error(config, told):
    # Told the size or not, the core reads nothing past the window (else
    # the probe raises ConfigWindowOverrun and the test fails).
    before = lib.vgpio_os_live_allocs
    transport = SimTransport(RawConfigDevice(config), tell_config_size=told)
    try:
        chip = Chip(transport)
    except ProbeError as exc:
        assert exc.errno in (errno.ENODEV, errno.EINVAL)
        assert exc.reason
        transport.close()
    else:
        assert 1 <= chip.ngpio <= id30_wire.MAX_LINES
        names = chip.line_names
        assert len(names) == chip.ngpio
        block = config[id30_wire.CFG_LINE_NAMES:]
        for name in names + [chip.name]:
            # only what the kernel can take as it is (DRV-17)
            assert name is None or KERNEL_SAFE_NAME.fullmatch(name), name
        assert len(chip.name) <= 32
        assert sum(len(n) for n in names if n) <= len(block) * 3
        chip.close()
    assert lib.vgpio_os_live_allocs == before


messages = st.lists(
    st.tuples(st.binary(min_size=0, max_size=8).map(lambda b: b.ljust(8, b"\0")),
              st.integers(0, 0xFFFFFFFF) | st.sampled_from([0, 4, 7, 8, 9])),
    max_size=40)


@given(batch=messages, lines=st.integers(1, 8))
def test_arbitrary_messages_never_break_the_core(batch, lines):
    before = lib.vgpio_os_live_allocs
    chip = simulated_chip(lines)
    try:
        for line in range(lines):
            chip.watch(line)
        chip.transport.deliver([Outgoing(p, n) for p, n in batch])
        stats = chip.stats
        rejected = sum(stats[k] for k in ("bad_len", "bad_type", "bad_line",
                                          "bad_value", "unexpected"))
        # Every message is either rejected or accepted as an event; no
        # request was pending, so nothing can count as a reply.
        assert rejected + stats["events"] == len(batch)
        assert stats["replies"] == 0
        assert stats["irqs"] <= stats["events"]
        # The chip still works afterwards, on every line.
        for line in range(lines):
            assert chip.get_value(line) == 0
    finally:
        chip.close()
    assert lib.vgpio_os_live_allocs == before


@given(replies=st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 3),
                                  st.integers(-(1 << 31), (1 << 31) - 1)),
                        max_size=10))
def test_arbitrary_replies_while_waiting(replies):
    chip = simulated_chip(4)
    try:
        transport = chip.transport
        transport.device_paused = True
        transport.before_wait = lambda line: transport.deliver(
            [Outgoing(id30_wire.encode(t, l, v), 8) for t, l, v in replies])
        try:
            value = chip.get_value(0)
        except OSError as exc:
            assert exc.errno > 0
        else:
            # Only a well-formed GET_VALUE reply for line 0 can complete it.
            ok = [v for t, l, v in replies
                  if t == id30_wire.reply_type(5) and l == 0 and v in (0, 1)]
            assert ok and value == ok[0]
        transport.device_paused = False
        # After a timeout the device answers the ping, ending the silence.
        transport.run()
        assert chip.get_value(1) == 0
    finally:
        chip.close()
