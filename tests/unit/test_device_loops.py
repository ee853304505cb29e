"""The device loops over a ring written here in plain Python: the loop
needs nothing of a ring but the interface of virtio_gpio.devices.ring, and
behaves the same for both protocols' models."""

import struct

from virtio_gpio.devices.base import FORGED_TOKEN, Fault
from virtio_gpio.devices.id30 import Id30Device
from virtio_gpio.devices.loops import Id30Loop, StandardLoop, loop_for
from virtio_gpio.devices.standard import StandardDevice
from virtio_gpio.wire import id30 as id30_wire
from virtio_gpio.wire import standard as std_wire

from list_ring import ListRing


def id30_rig(lines=2):
    device = Id30Device(lines)
    rings = {id30_wire.VQ_RX: ListRing(), id30_wire.VQ_TX: ListRing()}
    return device, rings, loop_for(device, rings)


def std_rig(lines=2):
    device = StandardDevice(lines)
    rings = {std_wire.VQ_REQUEST: ListRing(), std_wire.VQ_EVENT: ListRing()}
    return device, rings, loop_for(device, rings)


def std_request(ring, msg, line, value=0):
    return ring.offer(std_wire.REQUEST.pack(msg, line, value), 2)


def test_loop_for_picks_the_protocol_from_the_device_id():
    assert isinstance(id30_rig()[2], Id30Loop)
    assert isinstance(std_rig()[2], StandardLoop)


def test_id30_replies_wait_for_a_receive_buffer():
    device, rings, loop = id30_rig()
    device.lines[1].value = 1
    rx, tx = rings[id30_wire.VQ_RX], rings[id30_wire.VQ_TX]
    tx.offer(id30_wire.encode(id30_wire.MsgType.GET_VALUE, 1, 0))
    assert loop.run() == 1
    assert tx.used == [(100, b"", 0)] and tx.interrupts == 1
    assert rx.used == [] and len(loop.pending) == 1   # no buffer posted yet
    token = rx.offer(writable=8)
    loop.flush()
    assert rx.used == [(token, id30_wire.encode(
        id30_wire.reply_type(id30_wire.MsgType.GET_VALUE), 1, 1), 8)]
    assert loop.pending == [] and rx.interrupts == 1


def test_id30_input_change_goes_out_through_the_loop():
    device, rings, loop = id30_rig()
    rx = rings[id30_wire.VQ_RX]
    rx.offer(writable=8)
    loop.set_input(0, 1)
    loop.set_input(0, 1)            # no change, no message
    assert [id30_wire.decode(p) for _, p, _ in rx.used] == [
        (id30_wire.MsgType.HOST_LEVEL, 0, 1)]


def test_standard_reply_goes_into_its_own_chain():
    device, rings, loop = std_rig()
    requestq = rings[std_wire.VQ_REQUEST]
    first = std_request(requestq, std_wire.Msg.GET_DIRECTION, 1)
    second = std_request(requestq, std_wire.Msg.GET_VALUE, 9)
    loop.run()
    assert requestq.used == [
        (first, std_wire.RESPONSE.pack(std_wire.Status.OK,
                                       std_wire.Direction.IN), 2),
        (second, std_wire.RESPONSE.pack(std_wire.Status.ERR, 0), 2)]
    assert requestq.interrupts == 1


def test_a_delayed_reply_goes_out_with_the_next_requests_both_protocols():
    device, rings, loop = std_rig()
    requestq = rings[std_wire.VQ_REQUEST]
    device.inject(Fault.DELAY)
    late = std_request(requestq, std_wire.Msg.GET_VALUE, 0)
    loop.run()
    assert requestq.used == []
    now = std_request(requestq, std_wire.Msg.GET_VALUE, 1)
    loop.run()
    assert [token for token, _, _ in requestq.used] == [late, now]

    device, rings, loop = id30_rig()
    rx, tx = rings[id30_wire.VQ_RX], rings[id30_wire.VQ_TX]
    rx.offer(writable=8)
    rx.offer(writable=8)
    device.inject(Fault.DELAY)
    tx.offer(id30_wire.encode(id30_wire.MsgType.GET_VALUE, 0, 0))
    loop.run()
    assert rx.used == []
    tx.offer(id30_wire.encode(id30_wire.MsgType.GET_VALUE, 1, 0))
    loop.run()
    assert [id30_wire.decode(p)[1] for _, p, _ in rx.used] == [0, 1]


def test_standard_eventq_chain_held_until_the_edge():
    device, rings, loop = std_rig()
    requestq, eventq = rings[std_wire.VQ_REQUEST], rings[std_wire.VQ_EVENT]
    std_request(requestq, std_wire.Msg.SET_IRQ_TYPE, 1,
                std_wire.IrqType.EDGE_RISING)
    token = eventq.offer(std_wire.IRQ_REQUEST.pack(1), 1)
    loop.run()
    assert eventq.used == [] and device.held_irq_lines() == {1: token}
    loop.set_input(1, 1)
    assert eventq.used == [(token, bytes([std_wire.IrqStatus.VALID]), 1)]
    assert eventq.interrupts == 1


def test_a_forged_event_names_every_held_chain_to_the_ring():
    device, rings, loop = std_rig()
    requestq, eventq = rings[std_wire.VQ_REQUEST], rings[std_wire.VQ_EVENT]
    std_request(requestq, std_wire.Msg.SET_IRQ_TYPE, 0,
                std_wire.IrqType.EDGE_BOTH)
    loop.run()
    held = eventq.offer(std_wire.IRQ_REQUEST.pack(0), 1)
    device.inject(Fault.FORGED_EVENT)
    loop.flush()
    # The chain offered meanwhile is taken first, so it counts as held.
    assert eventq.forged == [{held}]
    assert all(token is not FORGED_TOKEN for token, _, _ in eventq.used)


def test_ring_stopped_forgets_what_the_driver_held():
    device, rings, loop = std_rig()
    eventq = rings[std_wire.VQ_EVENT]
    std_request(rings[std_wire.VQ_REQUEST], std_wire.Msg.SET_IRQ_TYPE, 0,
                std_wire.IrqType.EDGE_BOTH)
    eventq.offer(struct.pack("<H", 0), 1)
    loop.run()
    assert device.held_irq_lines()
    loop.ring_stopped(std_wire.VQ_EVENT)
    assert device.held_irq_lines() == {}


def test_both_models_tell_their_listeners_what_changed():
    heard = []
    device, rings, loop = std_rig(3)
    device.listeners.append(lambda e: heard.append((e.kind, e.line, e.value)))
    requestq, eventq = rings[std_wire.VQ_REQUEST], rings[std_wire.VQ_EVENT]
    std_request(requestq, std_wire.Msg.SET_VALUE, 0, 1)
    std_request(requestq, std_wire.Msg.SET_DIRECTION, 0, std_wire.Direction.OUT)
    std_request(requestq, std_wire.Msg.SET_IRQ_TYPE, 1,
                std_wire.IrqType.EDGE_FALLING)
    eventq.offer(std_wire.IRQ_REQUEST.pack(1), 1)
    loop.run()
    loop.set_input(1, 1)
    loop.set_input(1, 0)
    assert heard == [("direction", 0, "out"), ("drive", 0, 1),
                     ("irq_type", 1, "falling"), ("input", 1, 1),
                     ("input", 1, 0), ("interrupt", 1, 0)]

    heard.clear()
    device, rings, loop = id30_rig()
    device.listeners.append(lambda e: heard.append((e.kind, e.line, e.value)))
    rings[id30_wire.VQ_TX].offer(id30_wire.encode(
        id30_wire.MsgType.DIRECTION_OUTPUT, 0, 1))
    loop.run()
    loop.set_input(1, 1)
    assert heard == [("direction", 0, "out"), ("drive", 0, 1),
                     ("input", 1, 1), ("interrupt", 1, 1)]


def test_a_forgery_waits_for_the_eventq_to_be_set_up():
    # --fault forged_event is injected before the guest has rings.
    device, rings, loop = std_rig()
    eventq = rings[std_wire.VQ_EVENT]
    eventq.ready = False
    device.inject(Fault.FORGED_EVENT)
    loop.flush()
    assert eventq.forged == [] and eventq.interrupts == 0
    eventq.ready = True
    loop.run()
    assert eventq.forged == [set()] and eventq.interrupts == 1
