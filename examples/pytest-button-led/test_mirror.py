"""The mirror program (mirror.sh) in the guest: the host presses the
button and waits for the guest to light the LED, releases it and waits
for the LED to go dark; a button already pressed when the program starts
lights the LED too.

vgpio_bench and vgpio_guest come from virtio-gpio's pytest plugin: the
backend serving bench.toml, and a QEMU guest attached to it. Nothing
here polls: the backend answers wait_for when the LED gets there, and
streams the events that say when the program is listening.
"""

import pathlib

import pytest

MIRROR = (pathlib.Path(__file__).parent / "mirror.sh").read_text()
#: seconds the guest gets for each step; under TCG a step takes well
#: under one
STEP = 10


@pytest.fixture
def mirror(vgpio_bench, vgpio_guest):
    """mirror.sh running in the guest, listening to the button; stopped
    after the test."""
    vgpio_bench.set_input("button", 0)
    # Heard until the program has stopped: hanging up while its events
    # still flow can make vgpio-vhost-user 0.1 stop with an error.
    with vgpio_bench.events(timeout=STEP) as events:
        program = vgpio_guest.spawn(MIRROR)
        # A press counts once gpiomon armed the button's interrupt.
        try:
            for event in events:
                if event.name == "button" and event.kind == "irq_type" \
                        and event.value != "none":
                    break
        except TimeoutError:
            result = program.stop()
            pytest.fail("mirror.sh never listened to the button (status "
                        "%d):\n%s" % (result.status, result.output))
        yield program
        result = program.stop()
    # shown with a failed test's report
    print("mirror.sh ended with status %d; its output:\n%s"
          % (result.status, result.output))


def test_the_led_follows_the_button(vgpio_bench, mirror):
    vgpio_bench.set_input("button", 1)
    vgpio_bench.wait_for("led", 1, timeout=STEP)
    vgpio_bench.set_input("button", 0)
    vgpio_bench.wait_for("led", 0, timeout=STEP)


def test_a_press_held_at_the_start_shows(vgpio_bench, vgpio_guest):
    # No edge to see here: the program must read the level it starts at.
    vgpio_bench.set_input("button", 1)
    with vgpio_guest.spawn(MIRROR):
        vgpio_bench.wait_for("led", 1, timeout=STEP)
    vgpio_bench.set_input("button", 0)
