"""A UML guest that falls silent: the timeout says where its kernel (the
host process the guest started) is stuck, from gdb's backtrace, so that a
hang in CI leaves more than the last console lines."""

import sys

import pytest

from virtio_gpio.guests import uml
from virtio_gpio.guests.console import ConsoleGuest


def stand_in(script):
    """A uml.Guest whose "kernel" is a Python process running ``script``."""
    guest = uml.Guest.__new__(uml.Guest)
    ConsoleGuest.__init__(guest, [sys.executable, "-c", script])
    return guest


def test_a_silent_guest_times_out_with_its_kernel_backtrace():
    guest = stand_in("import select; print('up', flush=True); "
                     "select.select([], [], [], 60)")
    try:
        guest.expect("up", timeout=20)
        with pytest.raises(TimeoutError) as caught:
            guest.expect("never", timeout=0.3)
    finally:
        guest.kill()
    message = str(caught.value)
    assert "guest never printed 'never'" in message
    trace = message.split("the UML kernel's backtrace (gdb):\n", 1)[1]
    frames = trace.splitlines()
    assert frames[0].startswith("#0 "), trace
    # The stand-in waits in select(): its frames show it.
    assert any("select" in frame for frame in frames), trace


def test_a_guest_that_ended_has_no_backtrace():
    guest = stand_in("pass")
    guest.wait(20)
    assert guest.where_it_hangs() == ""
    with pytest.raises(TimeoutError) as caught:
        guest.expect("never", timeout=5)
    assert "backtrace" not in str(caught.value)
