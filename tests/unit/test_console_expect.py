"""ConsoleGuest.expect against a real process: a line it awaits, and a
wait that ends at its deadline, whatever the prefix, the empty one (any
line) included."""

import sys
import time

import pytest

from virtio_gpio.guests.console import ConsoleGuest


def guest(script):
    return ConsoleGuest([sys.executable, "-c", script])


@pytest.mark.parametrize("prefix", ["", "never"])
def test_a_silent_guest_times_out_at_the_deadline(prefix):
    g = guest("import time; time.sleep(30)")
    try:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            g.expect(prefix, timeout=0.3)
        assert time.monotonic() - start < 5
    finally:
        g.kill()


def test_the_empty_prefix_takes_the_next_line():
    g = guest("import time; time.sleep(0.5); print('first'); print('second',"
              " flush=True); time.sleep(30)")
    try:
        assert g.expect("", timeout=20) == "first"
        assert g.expect("", timeout=20) == "second"
    finally:
        g.kill()


def test_a_guest_that_ended_times_out_at_once():
    g = guest("print('only', flush=True)")
    try:
        assert g.expect("only", timeout=20) == "only"
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            g.expect("", timeout=20)
        assert time.monotonic() - start < 5
    finally:
        g.kill()
