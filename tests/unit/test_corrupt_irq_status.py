"""Fault.CORRUPT_IRQ_STATUS: the standard device completes one eventq
buffer with a status that is neither VALID nor INVALID (what the upstream
series' end-to-end run feeds Linux's gpio-virtio)."""

import struct

import pytest

from virtio_gpio import Fault
from virtio_gpio.devices.id30 import Id30Device
from virtio_gpio.devices.standard import (CORRUPT_IRQ_STATUS,
                                          IRQ_STATUS_INVALID,
                                          IRQ_STATUS_VALID, IrqType, Msg,
                                          StandardDevice)


def armed(line, irq_type=IrqType.EDGE_BOTH, token="t"):
    dev = StandardDevice(4)
    dev.handle(struct.pack("<HHI", Msg.SET_IRQ_TYPE, line, irq_type), 2)
    dev.queue_irq(struct.pack("<H", line), token)
    return dev


def test_the_next_triggered_buffer_carries_the_corrupt_status_once():
    dev = armed(2)
    dev.inject(Fault.CORRUPT_IRQ_STATUS)
    dev.set_input(2, 1)
    (done,) = dev.take_events()
    assert (done.token, done.payload, done.used_len) == (
        "t", bytes([CORRUPT_IRQ_STATUS]), 1)
    assert CORRUPT_IRQ_STATUS not in (IRQ_STATUS_VALID, IRQ_STATUS_INVALID)
    assert dev.faults == []
    dev.queue_irq(struct.pack("<H", 2), "u")
    dev.set_input(2, 0)
    assert [(e.token, e.payload) for e in dev.take_events()] == [
        ("u", bytes([IRQ_STATUS_VALID]))]


def test_a_buffer_returned_invalid_keeps_its_status_and_the_fault_waits():
    dev = armed(1)
    dev.inject(Fault.CORRUPT_IRQ_STATUS)
    dev.handle(struct.pack("<HHI", Msg.SET_IRQ_TYPE, 1, IrqType.NONE), 2)
    assert [e.payload for e in dev.take_events()] == [
        bytes([IRQ_STATUS_INVALID])]
    assert dev.faults == [Fault.CORRUPT_IRQ_STATUS]


def test_replies_on_the_requestq_are_not_touched():
    dev = StandardDevice(4)
    dev.inject(Fault.CORRUPT_IRQ_STATUS)
    reply = dev.handle(struct.pack("<HHI", Msg.GET_VALUE, 0, 0), 2)
    assert reply.payload == bytes([0, 0]) and reply.used_len == 2
    assert dev.faults == [Fault.CORRUPT_IRQ_STATUS]


def test_the_2020_protocol_refuses_it():
    with pytest.raises(ValueError, match="standard protocol"):
        Id30Device(4).inject(Fault.CORRUPT_IRQ_STATUS)
