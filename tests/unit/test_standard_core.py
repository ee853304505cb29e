"""The core speaking the standard protocol (virtio 1.2, device ID 41).

What goes on the wire for each operation, config-space validation read
field by field, the line-names fetch, response validation, and the eventq
cycle (arming, INVALID returns, level triggers, a device without
VIRTIO_GPIO_F_IRQ), all against the simulated rings.
"""

import errno
import struct
import sys

import pytest

from sim_cases import BOGUS_CONFIGS, time_out
from virtio_gpio import ConfigFault, Edge, Fault, ProbeError, VirtioGpioError
from virtio_gpio._binding import ffi, lib
from virtio_gpio.devices import Outgoing
from virtio_gpio.devices.standard import (REQUEST, Direction, IrqType, Msg,
                                         StandardDevice)

REQUESTQ, EVENTQ = lib.VGPIO_STD_VQ_REQUEST, lib.VGPIO_STD_VQ_EVENT


@pytest.fixture
def std(make_chip):
    return make_chip(["a", "b", "", "d"], protocol="standard")


def sent(chip, since=0):
    """(type, gpio, value) of the requests the device got, oldest first."""
    return [REQUEST.unpack(r) for r in list(chip.device.received)[since:]]


def expect_errno(err, call, *args):
    with pytest.raises(VirtioGpioError) as info:
        call(*args)
    assert info.value.errno == err


# -- probe -------------------------------------------------------------------

def test_config_is_read_field_by_field(std):
    host = std.transport.host
    # ngpio (2 bytes) and gpio_names_size (4 bytes): two reads, no wider.
    assert host.cfg_reads == 2
    assert host.cfg_widest_read == 4


def test_names_come_from_get_line_names(std):
    assert sent(std) == [(Msg.GET_LINE_NAMES, 0, 0)]
    assert std.line_names == ["a", "b", None, "d"]
    assert std.name == ""


def test_device_without_names_is_not_asked(make_chip):
    chip = make_chip(3, protocol="standard")
    assert chip.device.requests_seen == 0
    assert chip.line_names == [None] * 3


@pytest.mark.parametrize("fault,err", BOGUS_CONFIGS["standard"])
def test_invalid_config_is_refused(make_chip, fault, err):
    with pytest.raises(ProbeError) as info:
        make_chip(["a"], protocol="standard", config_fault=fault)
    assert info.value.errno == err


def test_a_names_block_too_big_is_left_out(make_chip):
    # The block is the device's to size; the driver allocates no more than
    # it supports, and the lines work without names.
    chip = make_chip(["a", "b"], protocol="standard",
                     config_fault=ConfigFault.NAMES_BEYOND_SPACE)
    assert chip.line_names == [None, None]
    assert chip.device.requests_seen == 0        # not asked for
    assert (errno.E2BIG, "line-names block larger than supported left "
            "out") in chip.transport.rejections
    chip.direction_output(1, 1)
    assert chip.get_value(1) == 1


def test_config_space_shorter_than_its_fields(no_leaks):
    # Told the size, the core refuses a 3-byte space outright. Untold (as
    # in the kernel), the missing bytes read as all ones: a names block of
    # about 4 GiB, left out, and four lines without names.
    from virtio_gpio import Chip
    from virtio_gpio.simtransport import SimTransport

    class Short(StandardDevice):
        def config_space(self):
            return b"\x04\x00\x00"

    transport = SimTransport(Short(4), tell_config_size=True)
    with pytest.raises(ProbeError) as info:
        Chip(transport)
    transport.close()
    assert info.value.errno == errno.ENODEV
    with Chip(SimTransport(Short(4))) as chip:
        assert chip.line_names == [None] * 4
        assert chip.transport.rejections[-1][0] == errno.E2BIG


@pytest.mark.parametrize("fault", [Fault.DROP, Fault.SHORT_LEN,
                                   Fault.CORRUPT_TYPE])
def test_names_refused_leave_lines_unnamed_but_usable(make_chip, fault):
    from virtio_gpio import Chip
    from virtio_gpio.simtransport import SimTransport

    device = StandardDevice(["a", "b"])
    device.inject(fault)
    chip = Chip(SimTransport(device))
    try:
        assert chip.line_names == [None, None]
        assert chip.transport.rejections[-1][1] == "line names unavailable"
        # A dropped names request left the device silent: it answers the
        # ping the timeout sent once it runs.
        chip.transport.run()
        chip.direction_output(1, 1)
        assert chip.get_value(1) == 1
    finally:
        chip.close()


def test_unknown_device_id_is_refused(no_leaks):
    from virtio_gpio import Chip
    from virtio_gpio.simtransport import SimTransport

    device = StandardDevice(2)
    device.device_id = 42
    transport = SimTransport(device)
    with pytest.raises(ProbeError) as info:
        Chip(transport)
    transport.close()
    assert info.value.errno == errno.ENODEV


# -- what each operation sends ------------------------------------------------

def test_operations_on_the_wire(std):
    n = len(std.device.received)
    std.request(1)
    std.direction_output(1, 1)
    std.direction_input(1)
    std.get_direction(1)
    std.get_value(1)
    std.set_value(1, 0)
    std.free(1)
    assert sent(std, n) == [
        # request: the standard protocol has no message for it
        (Msg.SET_VALUE, 1, 1), (Msg.SET_DIRECTION, 1, Direction.OUT),
        (Msg.SET_DIRECTION, 1, Direction.IN),
        (Msg.GET_DIRECTION, 1, 0),
        (Msg.GET_VALUE, 1, 0),
        (Msg.SET_VALUE, 1, 0),
        (Msg.SET_DIRECTION, 1, Direction.NONE),
    ]


def test_request_chain_is_8_bytes_out_2_bytes_in(std):
    std.transport.device_paused = True
    with pytest.raises(VirtioGpioError):
        std.get_value(0)
    ring = std.transport.ring(REQUESTQ)
    desc = lib.simvq_pop_avail(ring)
    assert lib.simvq_out_len(ring, desc) == 8
    assert lib.simvq_in_len(ring, desc) == 2


def test_line_in_no_direction_reads_as_input(std):
    std.device.lines[0].direction = Direction.NONE
    from virtio_gpio import Direction as Dir
    assert std.get_direction(0) is Dir.IN


def test_err_status_gives_eio_and_is_no_protocol_error(std):
    std.direction_output(3, 1)
    std.device.handle = lambda r, w, token=None: Outgoing(b"\x01\x00", 2, token)
    expect_errno(errno.EIO, std.get_value, 3)
    assert std.stats["bad_type"] == 0
    assert not std.transport.rejections


def test_model_refusal_reaches_the_caller(std):
    # SET_VALUE 1 then SET_DIRECTION OUT: a device refusing the direction
    # (here: a value it does not know) fails direction_output.
    std.device.lines[0].direction = Direction.IN
    real = std.device.handle

    def refuse_direction(request, writable, token=None):
        if REQUEST.unpack(request)[0] == Msg.SET_DIRECTION:
            return Outgoing(b"\x01\x00", 2, token)
        return real(request, writable, token)

    std.device.handle = refuse_direction
    expect_errno(errno.EIO, std.direction_output, 0, 1)


@pytest.mark.parametrize("value,ok", [(0, True), (2, True), (3, False),
                                      (0xFF, False)])
def test_get_direction_value_range(std, value, ok):
    std.device.handle = lambda r, w, token=None: Outgoing(bytes([0, value]), 2, token)
    if ok:
        std.get_direction(0)
    else:
        expect_errno(errno.EINVAL, std.get_direction, 0)
        assert std.stats["bad_value"] == 1


@pytest.mark.parametrize("lines", [1, 2, 255, 256, 257, 4096, 0xFFFF])
def test_every_16_bit_line_count_is_served(make_chip, lines):
    # The spec's ngpio is 16 bits and Linux's driver takes any count; a
    # limit of 256 refused larger devices outright.
    chip = make_chip(lines, protocol="standard", ring_size=256, indirect=True)
    assert chip.ngpio == lines
    for line in {0, lines // 2, lines - 1}:
        chip.direction_output(line, 1)
        assert chip.get_value(line) == 1
        assert chip.device.lines[line].value == 1
    last = min(lines, chip.irq_lines) - 1
    chip.direction_input(last)
    chip.transport.set_input(last, 0)
    chip.watch(last, Edge.RISING)
    chip.transport.set_input(last, 1)
    assert [e.line for e in chip.read_events()] == [last]


def test_the_request_pool_is_bounded_on_a_large_chip(make_chip):
    # One request slot per line would be 65535 DMA slots; past
    # VGPIO_TX_LINES lines the pool stops growing, and a request finding
    # it empty fails with ENOSPC, as one finding the queue full does.
    # Requests on different lines are made while the ones before still
    # wait (from the wait itself), until one finds no slot.
    chip = make_chip(0xFFFF, protocol="standard", ring_size=1024,
                     indirect=True)
    pool = lib.VGPIO_TX_LINES + lib.VGPIO_TX_SPARE
    chip.transport.device_paused = True
    errors = []

    def request(line):
        if line < pool:
            chip.transport.before_wait = lambda _: request(line + 1)
        else:
            chip.transport.before_wait = None
        try:
            chip.get_value(line)
        except OSError as exc:
            errors.append(exc.errno)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 40 * pool))
    try:
        request(0)
    finally:
        sys.setrecursionlimit(limit)
    assert errors == [errno.ENOSPC] + [errno.ETIMEDOUT] * pool
    chip.transport.device_paused = False
    chip.transport.run()
    chip.direction_output(pool, 1)
    assert chip.get_value(pool) == 1


def test_abandoned_slot_returns_late_and_is_freed(make_chip):
    chip = make_chip(1, protocol="standard", ring_size=64)
    chip.direction_output(0, 1)
    # Each abandoned request keeps its slot until the device returns it,
    # and so does the ping the timeout sends; the pool has one slot per
    # line plus the spares. Were late replies not to free their slots,
    # the rounds below would run out of them.
    pool = 1 + lib.VGPIO_TX_SPARE
    for rounds in range(1, pool + 1):
        chip.transport.device_paused = True
        expect_errno(errno.ETIMEDOUT, chip.get_value, 0)
        chip.transport.device_paused = False
        chip.transport.run()
        assert chip.stats["late_replies"] == 2 * rounds
        assert chip.get_value(0) == 1
    assert chip.transport.ring_stats(REQUESTQ)["free"] == 64


# -- eventq ---------------------------------------------------------------------

def test_irq_buffer_is_posted_only_when_watched(std):
    assert std.transport.ring_stats(EVENTQ)["avail"] == 0
    std.direction_input(1)
    std.watch(1, Edge.RISING)
    assert (Msg.SET_IRQ_TYPE, 1, IrqType.EDGE_RISING) in sent(std)
    ring = std.transport.ring(EVENTQ)
    desc = lib.simvq_pop_avail(ring)
    assert lib.simvq_out_len(ring, desc) == 2
    assert lib.simvq_in_len(ring, desc) == 1
    buf = ffi.new("unsigned char[2]")
    lib.simvq_read(ring, desc, buf, 2)
    assert struct.unpack("<H", bytes(buf)) == (1,)


@pytest.mark.parametrize("lines,ring_size,indirect,fit", [
    (256, 256, False, 128),   # QEMU's eventq: 128 two-part chains
    (256, 256, True, 256),    # with indirect tables: one entry a chain
    (1000, 256, True, 256),
    # one contiguous allocation of slots, whatever the ring's size
    (5000, 8192, True, lib.VGPIO_STD_IRQ_LINES_MAX),
    (8, 16, False, 8),        # exactly one chain per line
    (9, 16, False, 8),
    (17, 16, True, 16),
])
def test_only_lines_the_eventq_can_hold_take_interrupts(make_chip, lines,
                                                        ring_size, indirect,
                                                        fit):
    # Without indirect descriptors an armed line takes two descriptors,
    # with them one. Past the ring's room a buffer would silently not be
    # posted and that line's interrupts never come: such lines get none.
    chip = make_chip(lines, protocol="standard", ring_size=ring_size,
                     indirect=indirect)
    assert chip.irq_lines == fit
    for line in range(fit):
        chip.direction_input(line)
        chip.watch(line, Edge.BOTH)
    chip.poll()
    assert sorted(chip.device.held_irq_lines()) == list(range(fit))
    assert chip.stats["rx_repost_failed"] == 0
    if fit < lines:
        with pytest.raises(VirtioGpioError) as info:
            chip.watch(fit, Edge.BOTH)
        assert info.value.errno == errno.ENOSPC
    chip.transport.set_input(fit - 1, 1)
    assert [e.line for e in chip.read_events()] == [fit - 1]


def full_eventq_losing_line_5s_rearm(make_chip):
    """(chip, eventq): every line of 16 armed fills a 16-entry eventq, one
    descriptor a chain. Line 5's edge returns its buffer; the re-arm finds
    no memory for an indirect table (GFP_ATOMIC) and one descriptor too
    few to do without, as virtio_ring falls back."""
    chip = make_chip(16, protocol="standard", ring_size=16, indirect=True)
    for line in range(16):
        chip.direction_input(line)
        chip.watch(line, Edge.BOTH)
    chip.poll()
    eventq = chip.transport.ring(lib.VGPIO_STD_VQ_EVENT)
    assert lib.simvq_num_free(eventq) == 0
    lib.simvq_fail_indirect(eventq, 1)
    chip.transport.set_input(5, 1)
    return chip, eventq


def test_a_rearm_without_memory_or_room_is_retried(make_chip):
    # Without a retry, line 5 would stay silent until its next sync: no
    # other buffer comes back to make room, and the core was told of no
    # change.
    chip, _ = full_eventq_losing_line_5s_rearm(make_chip)
    assert [e.line for e in chip.read_events()] == [5]
    assert chip.stats["rx_repost_failed"] == 1
    assert chip.transport.host.arm_retries == 1
    assert 5 not in chip.device.held_irq_lines()
    # The retry, a while later (the kernel's delayed work): memory is
    # back, and the buffer takes the one free descriptor.
    chip.poll()
    assert 5 in chip.device.held_irq_lines()
    assert chip.transport.host.arm_retries == 0
    chip.transport.set_input(5, 0)
    assert [e.line for e in chip.read_events()] == [5]


def test_a_retry_that_fails_again_asks_again(make_chip):
    chip, eventq = full_eventq_losing_line_5s_rearm(make_chip)
    assert chip.transport.host.arm_retries == 1
    # The retry runs while memory is still short: it says so (the glue
    # waits twice as long before the next) and asks again.
    lib.simvq_fail_indirect(eventq, 1)
    assert lib.vgpio_irq_arm_pending(chip._core) == -errno.ENOSPC
    assert chip.transport.host.arm_retries == 2
    assert 5 not in chip.device.held_irq_lines()
    assert lib.vgpio_irq_arm_pending(chip._core) == 0
    chip.poll()
    assert 5 in chip.device.held_irq_lines()


def test_unwatch_sets_none_and_buffer_comes_back_invalid(std):
    std.direction_input(1)
    std.watch(1)
    std.poll()
    assert 1 in std.device.held_irq_lines()
    std.unwatch(1)
    assert sent(std)[-1] == (Msg.SET_IRQ_TYPE, 1, IrqType.NONE)
    std.poll()
    assert std.device.held_irq_lines() == {}
    assert std.stats["irq_invalid"] == 1
    # Not handed back: the line is not watched.
    assert std.transport.ring_stats(EVENTQ)["avail"] == 0


def test_retrigger_type_is_sent_only_when_it_changes(std):
    std.direction_input(2)
    std.watch(2, Edge.BOTH)
    n = len(std.device.received)
    std.mask(2)
    std.mask(2, False)
    assert sent(std, n) == []


def test_level_high_fires_while_high_and_masking_holds_it(std):
    std.direction_input(3)
    std.watch(3, Edge.LEVEL_HIGH)
    std.poll()
    std.mask(3)  # as handle_level_irq does around the handler
    std.transport.set_input(3, 1)
    assert std.read_events() == []
    std.mask(3, False)
    std.poll()
    assert [e.line for e in std.read_events()] == [3]


def test_events_carry_no_level(std):
    std.direction_input(1)
    std.watch(1, Edge.RISING)
    std.poll()
    std.transport.set_input(1, 1)
    assert [(e.line, e.rising) for e in std.read_events()] == [(1, None)]


def _return_irq(chip, line, status, used_len=1):
    """Play a device returning the line's eventq buffer as it likes."""
    ring = chip.transport.ring(EVENTQ)
    desc = lib.simvq_pop_avail(ring)
    assert desc >= 0
    lib.simvq_write(ring, desc, bytes([status]), 1)
    lib.simvq_push_used(ring, desc, used_len)
    chip.transport.interrupt(EVENTQ)


def test_invalid_return_rearms_once_not_forever(std):
    std.direction_input(0)
    std.watch(0)
    _return_irq(std, 0, 0)          # INVALID: re-armed once
    assert std.transport.ring_stats(EVENTQ)["avail"] == 1
    _return_irq(std, 0, 0)          # again: left alone until the next sync
    assert std.transport.ring_stats(EVENTQ)["avail"] == 0
    assert std.stats["irq_invalid"] == 2
    std.watch(0)
    assert std.transport.ring_stats(EVENTQ)["avail"] == 1


@pytest.mark.parametrize("status,used_len,counter", [
    (0x7F, 1, "bad_type"), (1, 0, "bad_len"), (1, 9, "bad_len"),
])
def test_bad_irq_response_fires_nothing(std, status, used_len, counter):
    std.direction_input(0)
    std.watch(0)
    _return_irq(std, 0, status, used_len)
    assert std.read_events() == []
    assert std.stats[counter] == 1
    assert std.stats["irqs"] == 0


def test_forged_eventq_return_breaks_the_eventq_not_the_chip(std):
    """A device returns an eventq buffer it was never given: the ring
    refuses it and breaks (virtio_ring's BAD_RING), no event fires, and
    watching says why it cannot work (EIO), while values still do."""
    std.direction_input(1)
    std.watch(1, Edge.BOTH)
    std.poll()
    std.device.inject(Fault.FORGED_EVENT)
    std.poll()
    assert std.transport.forged_refused == 1
    std.transport.set_input(1, 1)
    std.poll()
    assert std.read_events() == []
    assert std.stats["irqs"] == 0
    expect_errno(errno.EIO, std.watch, 2, Edge.BOTH)
    # Broken stays broken: no retry is asked for, which would only spin.
    assert std.transport.host.arm_retries == 0
    assert std.get_value(3) == 0


def test_device_without_irq_feature(make_chip):
    chip = make_chip(2, protocol="standard", irq=False)
    assert lib.vgpio_core_num_vqs(chip._core) == 1
    assert lib.vgpio_core_irq_types(chip._core) == 0
    expect_errno(errno.EOPNOTSUPP, chip.watch, 0)


def test_irq_types_offered(std):
    assert lib.vgpio_core_irq_types(std._core) == (
        lib.VGPIO_IRQ_EDGE_BOTH | lib.VGPIO_IRQ_LEVEL_BOTH)
    assert ffi.string(lib.vgpio_core_vq_name(std._core, 0)) == b"requestq"
    assert ffi.string(lib.vgpio_core_vq_name(std._core, 1)) == b"eventq"
    assert lib.vgpio_core_vq_name(std._core, 2) == ffi.NULL


def irq_types_sent(chip, since=0):
    return [(line, value) for msg, line, value in sent(chip, since)
            if msg == Msg.SET_IRQ_TYPE]


def test_a_trigger_change_of_an_enabled_line_goes_through_none(std):
    # virtio 1.4, requestq Operation: to change the trigger type of an
    # enabled interrupt the driver MUST first disable it (V-RQ-9).
    std.direction_input(2)
    std.watch(2, Edge.RISING)
    n = len(std.device.received)
    std.watch(2, Edge.FALLING)
    assert irq_types_sent(std, n) == [(2, IrqType.NONE),
                                      (2, IrqType.EDGE_FALLING)]
    std.transport.set_input(2, 1)
    std.transport.set_input(2, 0)
    assert [e.line for e in std.read_events()] == [2]


def test_a_failed_trigger_type_is_sent_again(std):
    # The device may apply a SET_IRQ_TYPE the driver gave up on: its type
    # is unknown, so the next sync says it again, through NONE.
    std.direction_input(1)
    std.watch(1, Edge.RISING)
    std.device.inject(Fault.DROP)           # the NONE of the change is lost
    time_out(std, std.watch, 1, Edge.BOTH)
    n = len(std.device.received)
    std.watch(1, Edge.RISING)               # the type it had before
    assert irq_types_sent(std, n) == [(1, IrqType.NONE),
                                      (1, IrqType.EDGE_RISING)]
    std.transport.set_input(1, 1)
    assert [e.line for e in std.read_events()] == [1]


def test_no_interrupt_on_an_output_line(std):
    # virtio 1.4: the driver MUST NOT send IRQ messages for a GPIO line
    # configured for output (V-RQ-7). An interrupt asked for on an output
    # waits for the input direction.
    std.direction_output(1, 0)
    n = len(std.device.received)
    std.watch(1, Edge.RISING)
    assert irq_types_sent(std, n) == []
    std.direction_input(1)
    assert irq_types_sent(std, n) == [(1, IrqType.EDGE_RISING)]
    std.transport.set_input(1, 1)
    assert [e.line for e in std.read_events()] == [1]


def test_an_output_takes_the_interrupt_off_the_device_until_input(std):
    # gpiolib drives an emulated open-drain line low as an output, its
    # interrupt still requested: NONE goes first, and the type comes back
    # with the input direction (release high).
    std.direction_input(2)
    std.watch(2, Edge.BOTH)
    n = len(std.device.received)
    std.direction_output(2, 0)
    assert sent(std, n) == [(Msg.SET_IRQ_TYPE, 2, IrqType.NONE),
                            (Msg.SET_VALUE, 2, 0),
                            (Msg.SET_DIRECTION, 2, Direction.OUT)]
    n = len(std.device.received)
    std.direction_input(2)
    assert sent(std, n) == [(Msg.SET_DIRECTION, 2, Direction.IN),
                            (Msg.SET_IRQ_TYPE, 2, IrqType.EDGE_BOTH)]
    std.transport.set_input(2, 1)
    assert [e.line for e in std.read_events()] == [2]


def test_a_failed_disable_does_not_keep_a_line_from_being_an_output(std):
    # The NONE of a release timed out: the device's type is unknown. The
    # output direction says NONE first instead of refusing for good.
    std.direction_input(1)
    std.watch(1, Edge.RISING)
    std.device.inject(Fault.DROP)
    time_out(std, std.unwatch, 1)
    n = len(std.device.received)
    std.direction_output(1, 1)
    assert sent(std, n)[0] == (Msg.SET_IRQ_TYPE, 1, IrqType.NONE)
    assert std.device.lines[1].value == 1

def test_freeing_a_line_whose_interrupt_is_in_use_keeps_the_interrupt(std):
    # A consumer reads a line another uses as an interrupt and lets go:
    # SET_DIRECTION NONE would make the device discard the interrupt.
    std.direction_input(3)
    std.watch(3, Edge.RISING)
    std.request(3)
    n = len(std.device.received)
    std.free(3)
    assert sent(std, n) == []
    std.transport.set_input(3, 1)
    assert [e.line for e in std.read_events()] == [3]
    std.unwatch(3)
    n = len(std.device.received)
    std.free(3)
    assert sent(std, n) == [(Msg.SET_DIRECTION, 3, Direction.NONE)]


def test_a_legacy_standard_device_is_refused(no_leaks):
    # The standard device's messages and config are little-endian: the
    # 1.x interface. Without VIRTIO_F_VERSION_1 they would be in the
    # guest's byte order, which the core does not speak.
    from virtio_gpio import Chip
    from virtio_gpio.simtransport import SimTransport

    transport = SimTransport(StandardDevice(2), legacy=True)
    try:
        with pytest.raises(ProbeError) as info:
            Chip(transport)
    finally:
        transport.close()
    assert info.value.errno == errno.ENODEV
    assert "VIRTIO_F_VERSION_1" in str(info.value)
