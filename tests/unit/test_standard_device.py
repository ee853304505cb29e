"""The model of the standardized virtio GPIO device (virtio 1.2, ID 41).

Checked against the spec's wire format directly (struct layouts written
out here from the spec, not taken from the model), so the model can later
stand in for a real host when the core learns the standard protocol.
"""

import struct

import pytest

from virtio_gpio import Fault
from virtio_gpio.devices.standard import (
    IRQ_STATUS_INVALID, IRQ_STATUS_VALID, STATUS_ERR, STATUS_OK, Direction,
    IrqType, Msg, StandardDevice)


def req(msg_type, gpio=0, value=0):
    return struct.pack("<HHI", msg_type, gpio, value)


def irq_req(gpio):
    return struct.pack("<H", gpio)


@pytest.fixture
def dev():
    return StandardDevice(["a", "", "c", "d"])


def test_config_space_layout(dev):
    config = dev.config_space()
    assert len(config) == 8
    ngpio, names_size = struct.unpack("<H2xI", config)
    assert (ngpio, names_size) == (4, len(b"a\0\0c\0d\0"))
    assert StandardDevice(3).config_space() == struct.pack("<H2xI", 3, 0)
    assert dev.features & 1  # VIRTIO_GPIO_F_IRQ
    assert not StandardDevice(2, irq=False).features


def test_get_line_names_fills_status_and_block(dev):
    size = struct.unpack("<H2xI", dev.config_space())[1]
    reply = dev.handle(req(Msg.GET_LINE_NAMES), 1 + size)
    assert reply.payload == bytes([STATUS_OK]) + b"a\0\0c\0d\0"
    assert reply.used_len == 1 + size
    assert dev.handle(req(Msg.GET_LINE_NAMES, 1), 1 + size).payload[0] == STATUS_ERR


def test_direction_and_value_round_trip(dev):
    assert dev.handle(req(Msg.GET_DIRECTION, 2), 2).payload == bytes([STATUS_OK, Direction.IN])
    # Value first, then direction: what Linux's gpio-virtio does, glitch-free.
    assert dev.handle(req(Msg.SET_VALUE, 2, 1), 2).payload == bytes([STATUS_OK, 0])
    assert dev.handle(req(Msg.GET_VALUE, 2), 2).payload == bytes([STATUS_OK, 0])
    assert dev.handle(req(Msg.SET_DIRECTION, 2, Direction.OUT), 2).payload[0] == STATUS_OK
    assert dev.handle(req(Msg.GET_VALUE, 2), 2).payload == bytes([STATUS_OK, 1])
    assert dev.handle(req(Msg.SET_VALUE, 2, 0), 2).payload == bytes([STATUS_OK, 0])
    assert dev.lines[2].value == 0


@pytest.mark.parametrize("request_bytes", [
    req(Msg.GET_VALUE, 4), req(Msg.SET_DIRECTION, 0, 7), req(0x99, 0),
    req(Msg.SET_VALUE, 0, 2),
    req(Msg.SET_IRQ_TYPE, 0, 5), b"\x01\x00",
])
def test_bad_requests_get_status_err(dev, request_bytes):
    reply = dev.handle(request_bytes, 2)
    assert reply.payload[0] == STATUS_ERR


def test_edge_irq_completes_held_buffer_once(dev):
    assert dev.handle(req(Msg.SET_IRQ_TYPE, 0, IrqType.EDGE_RISING), 2).payload[0] == STATUS_OK
    dev.queue_irq(irq_req(0), "t0")
    assert dev.take_events() == []
    assert dev.held_irq_lines() == {0: "t0"}
    dev.set_input(0, 1)
    (done,) = dev.take_events()
    assert (done.token, done.payload, done.used_len) == (
        "t0", bytes([IRQ_STATUS_VALID]), 1)
    dev.set_input(0, 0)  # no buffer held: nothing, and falling is not armed
    assert dev.take_events() == []


def test_falling_edge_ignored_for_rising_type(dev):
    dev.set_input(1, 1)
    dev.handle(req(Msg.SET_IRQ_TYPE, 1, IrqType.EDGE_RISING), 2)
    dev.queue_irq(irq_req(1), "t1")
    dev.set_input(1, 0)
    assert dev.take_events() == []
    dev.set_input(1, 1)
    assert [c.token for c in dev.take_events()] == ["t1"]


def test_level_irq_fires_while_level_holds(dev):
    dev.set_input(3, 1)
    dev.handle(req(Msg.SET_IRQ_TYPE, 3, IrqType.LEVEL_HIGH), 2)
    dev.queue_irq(irq_req(3), "a")
    assert [c.token for c in dev.take_events()] == ["a"]
    dev.queue_irq(irq_req(3), "b")   # still high: fires again at once
    assert [c.token for c in dev.take_events()] == ["b"]


def test_irq_type_none_returns_held_buffer_invalid(dev):
    dev.handle(req(Msg.SET_IRQ_TYPE, 2, IrqType.EDGE_BOTH), 2)
    dev.queue_irq(irq_req(2), "held")
    dev.handle(req(Msg.SET_IRQ_TYPE, 2, IrqType.NONE), 2)
    (done,) = dev.take_events()
    assert (done.token, done.payload) == ("held", bytes([IRQ_STATUS_INVALID]))
    assert dev.held_irq_lines() == {}


@pytest.mark.parametrize("gpio, irq_type", [(0, IrqType.NONE), (9, IrqType.EDGE_BOTH)])
def test_irq_buffer_refused_without_type_or_line(dev, gpio, irq_type):
    dev.queue_irq(irq_req(gpio), "x")
    (done,) = dev.take_events()
    assert done.payload == bytes([IRQ_STATUS_INVALID])


def test_second_irq_buffer_for_a_line_is_refused(dev):
    dev.handle(req(Msg.SET_IRQ_TYPE, 0, IrqType.EDGE_BOTH), 2)
    dev.queue_irq(irq_req(0), "first")
    dev.queue_irq(irq_req(0), "second")
    assert [(c.token, c.payload) for c in dev.take_events()] == [
        ("second", bytes([IRQ_STATUS_INVALID]))]


def test_faults_shape_the_response(dev):
    dev.inject(Fault.DROP)
    assert dev.handle(req(Msg.GET_VALUE, 0), 2) is None
    dev.inject(Fault.SHORT_LEN)
    assert dev.handle(req(Msg.GET_VALUE, 0), 2).used_len == 1
    dev.inject(Fault.LONG_LEN)
    assert dev.handle(req(Msg.GET_VALUE, 0), 2).used_len > 2
    dev.inject(Fault.ZERO_LEN)
    assert dev.handle(req(Msg.GET_VALUE, 0), 2).used_len == 0
    dev.inject(Fault.HUGE_LEN)
    assert dev.handle(req(Msg.GET_VALUE, 0), 2).used_len == 0xFFFFFFFF
    dev.inject(Fault.CORRUPT_TYPE)
    assert dev.handle(req(Msg.GET_VALUE, 0), 2).payload[0] not in (STATUS_OK, STATUS_ERR)
    dev.inject(Fault.CORRUPT_VALUE)
    assert dev.handle(req(Msg.GET_VALUE, 0), 2).payload[1] not in (0, 1)
    dev.inject(Fault.DELAY)
    assert dev.handle(req(Msg.GET_VALUE, 0), 2) is None
    assert len(dev.delayed) == 1


def test_irq_not_offered_means_irq_type_refused():
    dev = StandardDevice(2, irq=False)
    assert dev.handle(req(Msg.SET_IRQ_TYPE, 0, IrqType.EDGE_BOTH), 2).payload[0] == STATUS_ERR


def test_loopback_output_drives_its_input_and_fires_the_edge():
    device = StandardDevice(4, loopback={0: 1})
    device.handle(req(Msg.SET_IRQ_TYPE, 1, IrqType.EDGE_RISING), 2)
    device.queue_irq(struct.pack("<H", 1), "tok")
    device.handle(req(Msg.SET_DIRECTION, 0, Direction.OUT), 2)
    assert device.take_events() == []        # drives 0: no edge
    device.handle(req(Msg.SET_VALUE, 0, 1), 2)
    assert device.lines[1].value == 1
    (done,) = device.take_events()
    assert (done.token, done.payload) == ("tok", bytes([IRQ_STATUS_VALID]))


def test_loopback_never_drives_an_output():
    device = StandardDevice(4, loopback={0: 1})
    device.handle(req(Msg.SET_DIRECTION, 1, Direction.OUT), 2)
    device.handle(req(Msg.SET_DIRECTION, 0, Direction.OUT), 2)
    device.handle(req(Msg.SET_VALUE, 0, 1), 2)
    assert device.lines[1].value == 0


@pytest.mark.parametrize("loopback", [{0: 0}, {0: 4}, {-1: 1}])
def test_bad_loopback_is_refused(loopback):
    with pytest.raises(ValueError):
        StandardDevice(4, loopback=loopback)


def test_an_edge_while_masked_is_latched_until_the_next_buffer():
    # virtio 1.4: the device MUST latch an edge interrupt that is enabled
    # but masked; disabling the interrupt discards it.
    dev = StandardDevice(2)
    dev.handle(req(Msg.SET_IRQ_TYPE, 1, IrqType.EDGE_RISING), 2)
    dev.set_input(1, 1)                        # no buffer: masked
    dev.queue_irq(irq_req(1), "late")
    assert [(c.token, c.payload) for c in dev.take_events()] == [
        ("late", bytes([IRQ_STATUS_VALID]))]
    dev.set_input(1, 0)                        # a falling edge: not watched
    dev.set_input(1, 1)
    dev.handle(req(Msg.SET_IRQ_TYPE, 1, IrqType.NONE), 2)
    dev.handle(req(Msg.SET_IRQ_TYPE, 1, IrqType.EDGE_RISING), 2)
    dev.queue_irq(irq_req(1), "after-disable")
    assert dev.take_events() == []             # the latch went with NONE


def test_a_level_is_not_latched():
    dev = StandardDevice(2)
    dev.handle(req(Msg.SET_IRQ_TYPE, 0, IrqType.LEVEL_HIGH), 2)
    dev.set_input(0, 1)
    dev.set_input(0, 0)                        # gone before the buffer
    dev.queue_irq(irq_req(0), "t")
    assert dev.take_events() == []


def test_direction_none_discards_the_lines_interrupt_state():
    dev = StandardDevice(2)
    dev.handle(req(Msg.SET_IRQ_TYPE, 1, IrqType.EDGE_RISING), 2)
    dev.queue_irq(irq_req(1), "held")
    dev.handle(req(Msg.SET_DIRECTION, 1, Direction.NONE), 2)
    assert [(c.token, c.payload) for c in dev.take_events()] == [
        ("held", bytes([IRQ_STATUS_INVALID]))]
    assert dev.lines[1].irq_type == IrqType.NONE
    dev.handle(req(Msg.SET_DIRECTION, 1, Direction.IN), 2)
    dev.queue_irq(irq_req(1), "again")
    assert [c.payload for c in dev.take_events()] == [
        bytes([IRQ_STATUS_INVALID])]           # not enabled any more
