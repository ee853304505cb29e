"""idle.sh, run with nobody pressing the button, leaves the LED alone.
(check_refresh_is_caught.py shows the same guard failing.)"""

import pathlib

IDLE = (pathlib.Path(__file__).parent / "idle.sh").read_text()


def test_idle_program_leaves_the_led_alone(assert_idle):
    seen = assert_idle(IDLE)
    # It did listen to the button (so the guard watched it doing
    # something): gpiomon armed the button's interrupt.
    assert [e for e in seen if e.name == "button" and e.kind == "irq_type"
            and e.value == "rising"], seen
