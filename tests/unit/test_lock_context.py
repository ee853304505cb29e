"""Lock types: what the irq_chip callbacks may do where the kernel calls them.

The kernel calls irq_set_type/enable/disable/mask/unmask under the irq
descriptor's raw spinlock. There the core must take no spinlock_t (it
sleeps on PREEMPT_RT) and touch no virtqueue (DMA mapping takes one).
The userspace shim counts such calls inside a section marked raw
(vgpio_os.h); the autouse ``lock_context`` fixture fails any test that
leaves the count changed. These tests drive the raw callbacks directly,
the way the flow handlers do, and check that what they record is carried
out later: by the bus sync or by the drain after a handler.
"""

import pytest

from virtio_gpio import Edge
from virtio_gpio._binding import lib

EVENTQ = lib.VGPIO_STD_VQ_EVENT

IRQ_EDGE_BOTH = int(Edge.BOTH)


class RawSection:
    """Marks a section as the kernel's irq-descriptor-locked context."""

    def __enter__(self):
        lib.vgpio_os_raw_enter()

    def __exit__(self, *exc):
        lib.vgpio_os_raw_leave()


@pytest.fixture
def wait_context_errors():
    """The shim's count, restored after tests that provoke it on purpose."""
    before = lib.vgpio_os_wait_context_errors
    yield lambda: lib.vgpio_os_wait_context_errors - before
    lib.vgpio_os_wait_context_errors = before


def held(chip):
    """Lines whose eventq buffer the device holds (standard protocol)."""
    return set(chip.device.held_irq_lines())


def watching(make_chip, line, edge):
    """A standard chip with ``line`` watched for ``edge``, and its core."""
    chip = make_chip(4, protocol="standard")
    chip.direction_input(line)
    chip.watch(line, edge)
    chip.poll()
    return chip, chip._live()


def hardirq_handler(core):
    """A flow handler without a thread: mask, handle, unmask, all in raw
    context, as handle_level_irq does around a hard-irq handler."""
    def handle(event):
        with RawSection():
            lib.vgpio_irq_mask(core, event.line, True)
            lib.vgpio_irq_mask(core, event.line, False)
    return handle


@pytest.mark.parametrize("protocol", ["id30", "standard"])
def test_irq_chip_callbacks_take_no_lock_and_touch_no_queue(make_chip,
                                                            protocol):
    chip = make_chip(4, protocol=protocol)
    core = chip._live()
    chip.direction_input(0)
    chip.watch(1, Edge.RISING)
    chip.poll()
    avail = chip.transport.ring_stats(EVENTQ)["avail"] if \
        protocol == "standard" else None
    before = lib.vgpio_os_wait_context_errors
    with RawSection():
        for line in (0, 1, 2):
            assert lib.vgpio_irq_set_type(core, line, IRQ_EDGE_BOTH) == 0
            assert lib.vgpio_irq_enable(core, line, True) == 0
            assert lib.vgpio_irq_mask(core, line, True) == 0
            assert lib.vgpio_irq_mask(core, line, False) == 0
            assert lib.vgpio_irq_enable(core, line, False) == 0
    assert lib.vgpio_os_wait_context_errors == before
    if protocol == "standard":
        # Recorded only: the device hears nothing until the bus sync.
        assert chip.transport.ring_stats(EVENTQ)["avail"] == avail


def test_the_check_sees_a_lock_taken_in_a_raw_section(make_chip,
                                                      wait_context_errors):
    chip = make_chip(2, protocol="standard")
    chip.direction_input(0)
    with RawSection():
        # What the old callbacks did: take the core's lock to re-arm.
        lib.vgpio_irq_sync(chip._live(), 0)
    assert wait_context_errors() > 0


def test_unmask_outside_a_bus_sync_is_carried_out_by_the_deferred_arm(
        make_chip):
    """The kernel also unmasks outside a bus sync and outside the line's
    own handler: a resent interrupt's flow handler (the resend tasklet),
    resume. The event that came while masked was dropped; the unmask,
    which may not post, asks the host to run vgpio_irq_arm_pending()
    soon (a work item in the kernel), and the line is armed again."""
    chip = make_chip(4, protocol="standard")
    core = chip._live()
    chip.direction_input(2)
    chip.watch(2, Edge.BOTH)
    chip.poll()
    assert held(chip) == {2}
    chip.mask(2)
    chip.transport.set_input(2, 1)
    chip.poll()
    assert 2 not in held(chip) and chip.read_events() == []
    with RawSection():
        lib.vgpio_irq_mask(core, 2, False)
    # Recorded and asked for, not done: nothing was posted in there.
    assert chip.transport.host.arm_pending == 1
    assert 2 not in held(chip)
    chip.poll()
    assert chip.transport.host.arm_pending == 0
    assert held(chip) == {2}
    chip.transport.set_input(2, 0)
    chip.poll()
    assert [e.line for e in chip.read_events()] == [2]


def test_a_handlers_own_unmask_asks_for_no_deferred_arm(make_chip):
    chip, core = watching(make_chip, 1, Edge.BOTH)
    chip.subscribe(hardirq_handler(core))
    chip.transport.host.arm_pending = 0
    chip.transport.set_input(1, 1)
    assert [e.line for e in chip.read_events()] == [1]
    assert chip.transport.host.arm_pending == 0
    chip.poll()
    assert held(chip) == {1}


def test_edge_handler_line_is_rearmed_by_the_drain(make_chip):
    """An edge line's handler leaves it unmasked: the drain that ran the
    handler hands the buffer back, with no bus sync."""
    chip = make_chip(4, protocol="standard")
    chip.direction_input(1)
    chip.watch(1, Edge.BOTH)
    chip.poll()
    chip.transport.set_input(1, 1)
    chip.poll()
    assert [e.line for e in chip.read_events()] == [1]
    assert held(chip) == {1}


def test_level_handler_masks_and_its_thread_unmasks(make_chip):
    """handle_level_irq masks in raw context before the handler; a
    oneshot thread unmasks at irq_finalize_oneshot, under the bus lock.
    The drain must not re-arm the masked line; the sync must."""
    chip = make_chip(4, protocol="standard")
    core = chip._live()
    chip.direction_input(3)
    chip.watch(3, Edge.LEVEL_HIGH)
    chip.poll()
    handled = []

    def flow_handler(event):
        with RawSection():
            lib.vgpio_irq_mask(core, event.line, True)
        handled.append(event.line)

    chip.subscribe(flow_handler)
    chip.transport.set_input(3, 1)
    chip.poll()
    assert handled == [3]
    assert 3 not in held(chip)
    # The thread dealt with the cause; its unmask ends in the bus sync.
    chip.transport.set_input(3, 0)
    chip.poll()
    assert 3 not in held(chip)
    chip.mask(3, False)
    chip.poll()
    assert handled == [3]
    assert 3 in held(chip)


def test_hardirq_level_handler_unmasks_before_the_drain_rearms(make_chip):
    """A level handler without a thread: mask, handle, unmask, all in raw
    context inside the drain, which then re-arms the line itself: while
    the level holds, the device reports it again with no bus sync."""
    chip, core = watching(make_chip, 0, Edge.LEVEL_HIGH)
    chip.subscribe(hardirq_handler(core))
    chip.transport.set_input(0, 1)
    chip.poll()
    assert len(chip.read_events()) >= 2
    chip.transport.set_input(0, 0)
    chip.poll()
    assert held(chip) == {0}
