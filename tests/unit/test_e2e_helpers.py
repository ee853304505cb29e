"""The debug-kernel report reader the UML end-to-end tests rely on, and
the session that boots their guests."""

import sys

import pytest

from e2e_helpers import (GPIOLIB_HELD_LINE_LABEL, Backend,
                         debug_kernel_findings, guest_session)
from virtio_gpio.guests.console import ConsoleGuest

KNOWN = GPIOLIB_HELD_LINE_LABEL


def leak(address, *backtrace):
    return (["unreferenced object %s (size 32):" % address,
             '  comm "gpio-probe", pid 199, jiffies 4294940034',
             "  backtrace (crc 8b7687ed):"]
            + ["    %s+0x10/0x20" % name for name in backtrace])


def run(leaks, dmesg):
    return (["KMEMLEAK-BEGIN"] + leaks + ["KMEMLEAK-END", "X-DMESG-BEGIN"]
            + dmesg + ["X-DMESG-END"])


BOOT = "[    1.28] kmemleak: Kernel memory leak detector initialized " \
       "(mem pool available: 15844)"
COUNT = "[   40.00] kmemleak: 1 new suspected memory leaks (see " \
        "/sys/kernel/debug/kmemleak)"


def test_a_clean_run_reports_nothing():
    assert debug_kernel_findings(run([], [BOOT, "[ 2.0] vgpio: ok"]),
                                 "X") == []


def test_a_known_leak_is_left_out_with_kmemleaks_count_line():
    lines = run(leak("0x1", "__kmalloc", "desc_set_label",
                     "gpiod_request_commit"), [BOOT, COUNT])
    assert debug_kernel_findings(lines, "X", known_leaks=[KNOWN]) == []


def test_an_unknown_leak_is_reported():
    lines = run(leak("0x1", "__kmalloc", "desc_set_label",
                     "gpiod_request_commit")
                + leak("0x2", "__kmalloc", "vgpio_drv_probe"), [COUNT])
    found = debug_kernel_findings(lines, "X", known_leaks=[KNOWN])
    assert found[0] == "unreferenced object 0x2 (size 32):"
    assert "unreferenced object 0x1 (size 32):" not in found


def test_problem_lines_of_the_log_are_reported():
    found = debug_kernel_findings(run([], ["[ 3.0] WARNING: at foo.c:1"]),
                                  "X")
    assert found == ["[ 3.0] WARNING: at foo.c:1"]


def test_a_plain_kernel_must_print_no_kmemleak_block():
    assert debug_kernel_findings(["X-DMESG-BEGIN", "X-DMESG-END"], "X",
                                 debug=False) == []
    assert debug_kernel_findings(run([], []), "X", debug=False) != []
    assert debug_kernel_findings(["X-DMESG-BEGIN", "X-DMESG-END"],
                                 "X") != []


def silent_guest():
    return ConsoleGuest([sys.executable, "-c",
                         "import time; time.sleep(60)"])


def test_a_guest_timeout_carries_each_backends_log_and_both_are_stopped(
        tmp_path):
    backends = [Backend(str(tmp_path), name, "--protocol", "standard",
                        "--lines", "2") for name in ("first", "second")]
    guest = silent_guest()
    with pytest.raises(TimeoutError) as caught:
        with guest_session(guest, *backends):
            guest.expect("never", timeout=0.2)
    message = str(caught.value)
    assert "guest never printed 'never'" in message
    for name in ("first", "second"):
        assert "\n%s.log ends:\n" % name in message
        assert "listening on %s" % (tmp_path / (name + ".sock")) in message
    # The traceback still leads to the wait that timed out.
    assert caught.traceback[-1].name == "expect"
    assert guest.proc.poll() is not None
    assert all(b.proc.poll() is not None for b in backends)


def test_a_guest_that_does_not_exit_times_out_with_the_logs(tmp_path):
    backend = Backend(str(tmp_path), "std", "--protocol", "standard",
                      "--lines", "2")
    guest = silent_guest()
    with pytest.raises(TimeoutError) as caught:
        with guest_session(guest, backend):
            guest.wait(0.2)
    assert "timed out after 0.2 seconds" in str(caught.value)
    assert "\nstd.log ends:\n" in str(caught.value)
    assert backend.proc.poll() is not None


def test_without_stop_the_backends_exit_on_their_own_unless_it_failed(
        tmp_path):
    kept = Backend(str(tmp_path), "kept", "--protocol", "standard",
                   "--lines", "2")
    try:
        guest = silent_guest()
        with guest_session(guest, kept, stop=False):
            pass
        assert guest.proc.poll() is not None
        assert kept.proc.poll() is None
    finally:
        kept.stop()
    failed = Backend(str(tmp_path), "failed", "--protocol", "standard",
                     "--lines", "2")
    with pytest.raises(TimeoutError):
        with guest_session(silent_guest(), failed, stop=False) as guest:
            guest.expect("never", timeout=0.2)
    assert failed.proc.poll() is not None
