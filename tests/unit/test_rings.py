"""Ring handling, scenario by scenario; among them the virtqueue mistakes
of the 2020 patch (v3)."""

import errno

import pytest

from virtio_gpio.wire import id30 as id30_wire
from virtio_gpio._binding import lib

RX, TX = id30_wire.VQ_RX, id30_wire.VQ_TX


def test_receive_buffers_are_message_sized(chip):
    # The 2020 patch (v3) posted its 8-byte buffer with
    # sizeof(struct virtio_gpio_priv).
    ring = chip.transport.host.vq[RX]
    sizes = []
    while True:
        desc = lib.simvq_pop_avail(ring)
        if desc < 0:
            break
        sizes.append(lib.simvq_in_len(ring, desc))
        assert lib.simvq_out_len(ring, desc) == 0
    assert sizes == [id30_wire.MSG_SIZE] * lib.VGPIO_RX_BUFS


def test_receive_buffers_on_queue0_requests_on_queue1(chip):
    # The 2020 patch (v3) attached the receive callback to the transmit
    # queue and back.
    assert chip.transport.ring_stats(RX)["avail"] == lib.VGPIO_RX_BUFS
    assert chip.transport.ring_stats(TX)["avail"] == 0
    chip.transport.device_paused = True
    with pytest.raises(OSError) as info:
        chip.get_value(0)
    assert info.value.errno == errno.ETIMEDOUT
    tx = chip.transport.host.vq[TX]
    desc = lib.simvq_pop_avail(tx)
    assert desc >= 0
    assert lib.simvq_in_len(tx, desc) == 0
    assert lib.simvq_out_len(tx, desc) == id30_wire.MSG_SIZE


def test_transmit_buffers_reclaimed_past_the_ring_size(make_chip):
    # The 2020 patch (v3) never reclaimed transmit buffers: the ring
    # filled up for good.
    chip = make_chip(2, ring_size=4)
    chip.direction_output(0, 0)
    for i in range(50):
        chip.set_value(0, i & 1)
        assert chip.get_value(0) == i & 1
    assert chip.stats["tx_reclaimed"] == 101


def test_tx_buffers_reclaimed_without_tx_interrupts(make_chip):
    # A device may never interrupt for used transmit buffers; the core
    # then reclaims them before it needs a slot.
    chip = make_chip(2, ring_size=4, tx_interrupts=False)
    for _ in range(40):
        chip.get_value(1)
    assert chip.stats["replies"] == 40
    assert chip.transport.ring_stats(TX)["used"] <= 1


def test_receive_ring_not_grown_per_request(chip):
    # The 2020 patch (v3) added a receive buffer per request until the
    # ring was exhausted.
    for _ in range(100):
        chip.get_value(0)
    stats = chip.transport.ring_stats(RX)
    assert stats["avail"] == lib.VGPIO_RX_BUFS
    assert stats["free"] == stats["size"] - lib.VGPIO_RX_BUFS


def test_every_used_buffer_of_one_callback_is_handled(chip):
    # The 2020 patch (v3) handled one used buffer per callback and lost
    # the rest.
    for line in range(3):
        chip.direction_input(line)
        chip.watch(line)
    interrupts = chip.transport.rx_interrupts
    for line in range(3):
        chip.device.set_input(line, 1)
    chip.transport.flush()
    assert chip.transport.rx_interrupts == interrupts + 1
    assert [e.line for e in chip.read_events()] == [0, 1, 2]
    assert chip.stats["events"] == 3


def test_rx_buffers_reposted_when_more_messages_than_buffers(chip):
    # 3x the posted buffers: only possible if each one is posted again.
    n = 3 * lib.VGPIO_RX_BUFS
    chip.direction_input(0)
    chip.watch(0)
    for i in range(n):
        chip.device.set_input(0, (i + 1) & 1)
    chip.transport.flush()
    assert chip.transport.loop.pending == []
    assert len(chip.read_events()) == n
    assert chip.transport.ring_stats(RX)["avail"] == lib.VGPIO_RX_BUFS


def test_rx_kicked_after_reposting(chip):
    before = chip.transport.notifications[RX]
    chip.get_value(0)
    assert chip.transport.notifications[RX] > before


def test_tx_ring_full_gives_clear_error(make_chip):
    # With the device stopped and the ring full of requests in flight, the
    # next request fails with ENOSPC instead of hanging or overwriting a
    # buffer in use.
    chip = make_chip(8, ring_size=2)
    chip.transport.device_paused = True
    errors = []

    def request(line):
        if line < 2:
            chip.transport.before_wait = lambda _: request(line + 1)
        try:
            chip.get_value(line)
        except OSError as exc:
            errors.append(exc.errno)

    request(0)
    assert errors == [errno.ENOSPC, errno.ETIMEDOUT, errno.ETIMEDOUT]
