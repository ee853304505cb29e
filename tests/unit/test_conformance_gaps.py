"""Driver obligations of the specs that no other test checked directly.

Each test here is named in Documentation/conformance.rst against the
statement it checks; the driver's behaviour is observed where the device
sees it: in the chains the model is handed, in what sits on the rings,
and in the order the two arrive.
"""

import struct

import pytest

from sim_cases import probe
from virtio_gpio import Edge, VirtioGpioError
from virtio_gpio.devices.ring import Chain
from virtio_gpio.wire import id30 as id30_wire
from virtio_gpio._binding import ffi, lib
from virtio_gpio.devices import Outgoing, RawConfigDevice, Id30Device
from virtio_gpio.devices.standard import (IRQ_REQUEST, REQUEST, IrqType, Msg,
                                         StandardDevice)

EVENTQ = lib.VGPIO_STD_VQ_EVENT
NAMES = ["a", "b", "", "d"]


def record_chains(device):
    """Make the model log (request bytes, device-writable size) per chain."""
    chains, real = [], device.handle

    def handle(request, writable, token=None):
        chains.append((bytes(request), writable))
        return real(request, writable, token)

    device.handle = handle
    return chains


def record_irq_buffers(device):
    """Make the model log the line of every eventq chain it is handed, and
    fail at once if the driver hands a second one for a line it holds."""
    lines, real = [], device.queue_irq

    def queue_irq(request, token):
        (gpio,) = IRQ_REQUEST.unpack(request)
        assert gpio not in device.held_irq_lines(), \
            "second eventq buffer for line %d" % gpio
        lines.append(gpio)
        real(request, token)

    device.queue_irq = queue_irq
    return lines


# -- virtio 1.4, requestq --------------------------------------------------------

def test_every_message_is_one_request_and_one_response_chain(no_leaks):
    device = StandardDevice(NAMES)
    chains = record_chains(device)
    chip = probe(device)
    try:
        chip.direction_output(0, 1)
        chip.set_value(0, 0)
        chip.get_value(0)
        chip.get_direction(0)
        chip.direction_input(1)
        chip.watch(1, Edge.RISING)
        chip.unwatch(1)
        chip.free(1)
    finally:
        chip.close()
    types = [REQUEST.unpack(request)[0] for request, _ in chains]
    assert set(types) == set(Msg)
    names_size = len(device.names_block())
    for request, writable in chains:
        # The device-readable part is exactly the 8-byte request; the
        # device-writable part is the response: status + value, or status
        # + the whole names block (N = gpio_names_size).
        assert len(request) == REQUEST.size
        msg_type = REQUEST.unpack(request)[0]
        assert writable == (1 + names_size if msg_type == Msg.GET_LINE_NAMES
                            else 2)


def test_line_names_request_has_gpio_and_value_zero(no_leaks):
    device = StandardDevice(NAMES)
    chains = record_chains(device)
    chip = probe(device)
    chip.close()
    assert [REQUEST.unpack(request) for request, _ in chains] == [
        (Msg.GET_LINE_NAMES, 0, 0)]


def test_requests_for_different_lines_are_in_flight_together(make_chip):
    chip = make_chip(8, protocol="standard")
    for line in range(8):
        chip.direction_output(line, line & 1)
    most = [0]
    results = {}

    def nest(line):
        most[0] = max(most[0], chip.transport.ring_stats(
            lib.VGPIO_STD_VQ_REQUEST)["avail"])
        if line + 1 < 8:
            chip.transport.before_wait = lambda l, n=line + 1: nest(n)
        results[line] = chip.get_value(line)

    nest(0)
    assert results == {line: line & 1 for line in range(8)}
    # Every one of the 8 requests sat on the requestq at the same time.
    assert most[0] == 7
    chip.transport.before_wait = None
    assert chip.transport.ring_stats(lib.VGPIO_STD_VQ_REQUEST)["avail"] == 0


def test_without_irq_feature_no_irq_message_and_no_eventq(make_chip):
    chip = make_chip(2, protocol="standard", irq=False)
    before = len(chip.device.received)
    for edge in Edge:
        if edge == Edge.NONE:
            continue
        with pytest.raises(VirtioGpioError):
            chip.watch(0, edge)
    chip.unwatch(0)
    chip.mask(0, False)
    assert list(chip.device.received)[before:] == []
    assert lib.vgpio_core_num_vqs(chip._core) == 1
    assert chip.transport.host.vq[EVENTQ] == ffi.NULL


def test_done_with_a_line_sets_its_trigger_type_none(make_chip):
    chip = make_chip(4, protocol="standard")
    for edge in (Edge.RISING, Edge.FALLING, Edge.BOTH, Edge.LEVEL_HIGH,
                 Edge.LEVEL_LOW):
        chip.direction_input(2)
        chip.watch(2, edge)
        assert chip.device.lines[2].irq_type != IrqType.NONE
        chip.unwatch(2)
        assert REQUEST.unpack(chip.device.received[-1]) == (
            Msg.SET_IRQ_TYPE, 2, IrqType.NONE)
        assert chip.device.lines[2].irq_type == IrqType.NONE


# -- virtio 1.4, eventq ----------------------------------------------------------

@pytest.mark.parametrize("edge", [Edge.RISING, Edge.BOTH, Edge.LEVEL_HIGH])
def test_irq_enabled_at_the_device_before_its_buffer_is_queued(make_chip,
                                                               edge):
    chip = make_chip(4, protocol="standard")
    chip.direction_input(3)
    ring_at_enable = []
    real = chip.device.handle

    def handle(request, writable, token=None):
        if REQUEST.unpack(request)[0] == Msg.SET_IRQ_TYPE:
            ring_at_enable.append(chip.transport.ring_stats(EVENTQ)["avail"])
        return real(request, writable, token)

    chip.device.handle = handle
    chip.watch(3, edge)
    # No eventq buffer was available when the device got SET_IRQ_TYPE;
    # one is right after the device answered it.
    assert ring_at_enable == [0]
    assert chip.transport.ring_stats(EVENTQ)["avail"] == 1


def test_refused_enable_never_unmasks(make_chip):
    chip = make_chip(4, protocol="standard")
    chip.direction_input(1)
    chip.device.handle = lambda r, w, token=None: Outgoing(b"\x01\x00", 2,
                                                           token)
    with pytest.raises(VirtioGpioError):
        chip.watch(1, Edge.RISING)
    # The unmask's bus sync asks for the trigger type again, and the
    # device refuses again: still no buffer may reach the eventq.
    with pytest.raises(VirtioGpioError):
        chip.mask(1, False)
    assert chip.transport.ring_stats(EVENTQ)["avail"] == 0


def test_unmask_alone_queues_nothing(make_chip):
    chip = make_chip(4, protocol="standard")
    chip.direction_input(0)
    chip.mask(0, False)
    chip.poll()
    assert chip.transport.ring_stats(EVENTQ)["avail"] == 0
    assert chip.device.held_irq_lines() == {}


def test_one_buffer_pair_per_line_and_never_two(no_leaks):
    device = StandardDevice(4)
    queued = record_irq_buffers(device)
    chip = probe(device)
    try:
        for line in (1, 2, 3):
            chip.direction_input(line)
            chip.watch(line, Edge.BOTH)
        chip.poll()
        assert device.held_irq_lines().keys() == {1, 2, 3}
        for _ in range(3):
            # Every path that hands a buffer back to the device: the event
            # itself, unmask after a handler, an INVALID return, re-watch.
            for level in (1, 0):
                chip.transport.set_input(2, level)
            chip.mask(3)
            chip.mask(3, False)
            chip.mask(3, False)
            chip.watch(1, Edge.RISING)
            chip.watch(1, Edge.BOTH)
            chip.unwatch(2)
            chip.watch(2, Edge.BOTH)
            chip.poll()
        assert device.held_irq_lines().keys() == {1, 2, 3}
        assert [e.line for e in chip.read_events()] == [2, 2] * 3
    finally:
        chip.close()
    assert set(queued) == {1, 2, 3}


# -- the 2020 protocol (Documentation/spec.rst) ---------------------------------

def test_reserved_config_bytes_are_ignored(no_leaks):
    clean = id30_wire.build_config(2, b"in\0out\0", name=b"dev")
    dirty = bytearray(clean)
    dirty[0x01] = 0xA5
    dirty[0x08:0x20] = bytes(range(0xE0, 0xF8))
    chips = [probe(RawConfigDevice(bytes(config)))
             for config in (clean, dirty)]
    try:
        seen = [(c.name, c.ngpio, c.line_names) for c in chips]
        assert seen[0] == seen[1] == ("dev", 2, ["in", "out"])
    finally:
        for c in chips:
            c.close()


def test_requests_keep_reserved_type_bits_zero(make_chip):
    chip = make_chip(4)
    chip.request(0)
    chip.direction_output(0, 1)
    chip.set_value(0, 0)
    chip.get_value(0)
    chip.get_direction(0)
    chip.direction_input(0)
    chip.free(0)
    types = {id30_wire.MSG.unpack(m)[0] for m in chip.device.received}
    assert types
    assert all(t & 0xF000 == 0 for t in types)
    # Only request types go out; never a reply flag, never HOST_LEVEL.
    assert types <= {0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006}


def test_requests_name_lines_in_range_only(make_chip):
    chip = make_chip(4)
    chip.watch(3)
    for line in range(4):
        chip.direction_output(line, 1)
        chip.get_value(line)
    for bad in (4, 0xFFFF):
        with pytest.raises(ValueError):
            chip.get_value(bad)
        # The core refuses it too, under the Python API's own check.
        assert lib.vgpio_request(chip._core, bad, lib.VGPIO_OP_GET_VALUE,
                                 0, ffi.NULL) < 0
    lines = {id30_wire.MSG.unpack(m)[1] for m in chip.device.received}
    assert lines <= set(range(4))


def test_id30_device_models_what_the_tests_rely_on():
    # The checks above read Id30Device.received: make sure it records
    # every request, or they would pass on an empty list.
    device = Id30Device(2)
    device.process([Chain(None, id30_wire.encode(0x0005, 1, 0), 0)])
    assert list(device.received) == [struct.pack("<HHI", 5, 1, 0)]
