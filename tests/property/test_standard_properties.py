"""Property-based, standard protocol: arbitrary device input never hurts.

Config spaces, line-name blocks, responses and eventq returns are drawn at
random; the core must give a chip or a clear error, complete every request
with a value in range or an errno, keep every line usable, and free all it
allocated.
"""

import errno
import struct

from hypothesis import given
from hypothesis import strategies as st

from virtio_gpio import Chip, Direction, Edge, ProbeError, SimTransport, simulated_chip
from virtio_gpio._binding import lib
from virtio_gpio.devices import Outgoing
from virtio_gpio.devices.standard import REQUEST, Msg, StandardDevice

EVENTQ = lib.VGPIO_STD_VQ_EVENT


class ScriptedDevice(StandardDevice):
    """A standard device whose config space and chosen responses are given."""

    def __init__(self, lines, config=None, answers=()):
        super().__init__(lines)
        self.config = config
        self.answers = list(answers)

    def config_space(self):
        return self.config if self.config is not None else super().config_space()

    def handle(self, request, writable, token=None):
        if self.answers and REQUEST.unpack(request)[0] != Msg.SET_DIRECTION:
            payload, used = self.answers.pop(0)
            return Outgoing(payload[:writable], used, token)
        return super().handle(request, writable, token)


@given(ngpio=st.integers(0, 0xFFFF) | st.integers(1, 8),
       names_size=st.integers(0, 0xFFFFFFFF) | st.integers(0, 40),
       extra=st.binary(max_size=4),
       names=st.binary(max_size=48), used=st.integers(0, 80))
def test_arbitrary_config_and_names(ngpio, names_size, extra, names, used):
    before = lib.vgpio_os_live_allocs
    config = struct.pack("<HxxI", ngpio, names_size) + extra
    device = ScriptedDevice(1, config, [(b"\0" + names, used)])
    transport = SimTransport(device)
    try:
        chip = Chip(transport)
    except ProbeError as exc:
        assert exc.errno in (errno.ENODEV, errno.EINVAL)
        transport.close()
    else:
        assert chip.ngpio == ngpio  # every 16-bit count but 0 is served
        got = chip.line_names
        assert len(got) == chip.ngpio
        assert all(n is None or "\0" not in n for n in got)
        if used != names_size + 1:
            assert got == [None] * chip.ngpio  # a bad response names nothing
        chip.close()
    assert lib.vgpio_os_live_allocs == before


@given(answers=st.lists(st.tuples(st.binary(max_size=4), st.integers(0, 9)),
                        min_size=1, max_size=6))
def test_arbitrary_responses_complete_or_fail_cleanly(answers):
    before = lib.vgpio_os_live_allocs
    chip = Chip(SimTransport(ScriptedDevice(2, answers=answers)))
    try:
        for _ in answers:
            try:
                value = chip.get_value(0)
            except OSError as exc:
                assert exc.errno in (errno.EIO, errno.EPROTO, errno.EINVAL,
                                     errno.EBADMSG, errno.EMSGSIZE)
            else:
                assert value in (0, 1)
        # Scripted answers used up: the line works as the model says.
        chip.direction_output(1, 1)
        assert chip.get_value(1) == 1
        assert chip.get_direction(1) is Direction.OUT
    finally:
        chip.close()
    assert lib.vgpio_os_live_allocs == before


@given(returns=st.lists(st.tuples(st.integers(0, 255), st.integers(0, 4)),
                        max_size=12))
def test_arbitrary_eventq_returns(returns):
    before = lib.vgpio_os_live_allocs
    chip = simulated_chip(2, protocol="standard")
    try:
        chip.direction_input(0)
        chip.watch(0, Edge.BOTH)
        ring = chip.transport.ring(EVENTQ)
        fired = 0
        for status, used in returns:
            desc = lib.simvq_pop_avail(ring)
            if desc < 0:
                chip.watch(0, Edge.BOTH)  # a sync hands the buffer back
                desc = lib.simvq_pop_avail(ring)
            assert desc >= 0
            lib.simvq_write(ring, desc, bytes([status]), 1)
            lib.simvq_push_used(ring, desc, used)
            chip.transport.interrupt(EVENTQ)
            fired += status == 1 and used == 1
        assert len(chip.read_events()) == fired == chip.stats["irqs"]
        assert chip.get_value(1) == 0
    finally:
        chip.close()
    assert lib.vgpio_os_live_allocs == before
