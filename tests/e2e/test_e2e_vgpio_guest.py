"""vgpio-guest end to end: Debian's newest installed kernel under QEMU
(TCG) with vgpio.ko, hot-plugged to our vhost-user backends.

Three boots, each checked by several tests: a backend that is up first
and a guest that lists it with libgpiod's tools; two backends started
only after vgpio-guest, which waits for them and gets two chips; and a
backend killed with SIGKILL while the guest reads a line in a loop, then
started again on the same socket path, after which the guest, without a
reboot, reads and drives the lines of the device plugged anew.
"""

import os
import time

import pytest

from e2e_helpers import Backend, guest_script
from guest_run import BOOT_TIMEOUT, GuestRun, stop_all

STANDARD = ("--protocol", "standard")


@pytest.fixture(scope="module")
def listed(tmp_path_factory):
    """(a) A backend with lines led and button, up before vgpio-guest,
    which runs gpiodetect and gpioinfo."""
    work = str(tmp_path_factory.mktemp("listed"))
    backend = Backend(work, "a", *STANDARD, "--names", "led,button")
    guest = None
    try:
        begin = time.monotonic()
        guest = GuestRun("-s", backend.sock, "--run", "gpiodetect; gpioinfo")
        status = guest.finish(BOOT_TIMEOUT + 60)
        return {"status": status, "out": guest.out, "err": guest.err,
                "seconds": time.monotonic() - begin}
    finally:
        stop_all(guest, [backend])


@pytest.fixture(scope="module")
def late_pair(tmp_path_factory):
    """(b, c) vgpio-guest started first with two sockets; each backend
    starts only once vgpio-guest says it waits for it."""
    work = str(tmp_path_factory.mktemp("late"))
    socks = [os.path.join(work, name + ".sock") for name in ("a", "b")]
    guest, backends = None, []
    try:
        guest = GuestRun("-s", socks[0], "-s", socks[1], "--run",
                         "gpiodetect; gpioinfo; exit 3")
        for sock in socks:
            guest.expect("err", lambda l, s=sock: "waiting for" in l and s in l,
                         BOOT_TIMEOUT)
        backends.append(Backend(work, "a", *STANDARD, "--names", "led,button"))
        guest.expect("err", lambda l: "attached %s" % socks[0] in l, 60)
        backends.append(Backend(work, "b", *STANDARD, "--names", "x,y,z"))
        status = guest.finish(BOOT_TIMEOUT)
        return {"status": status, "out": guest.out, "err": guest.err,
                "socks": socks}
    finally:
        stop_all(guest, backends)


def _value(line):
    """The value a "GET i chip value" line read, None for an error."""
    words = line.split(" ", 3)
    return int(words[3]) if words[3] in ("0", "1") else None


@pytest.fixture(scope="module")
def replugged(tmp_path_factory):
    """(d) The backend killed while the guest reads line 1 in a loop, and
    started again on the same socket path."""
    work = str(tmp_path_factory.mktemp("replug"))
    backend = Backend(work, "a", *STANDARD, "--names", "led,button")
    backends = [backend]
    guest = None
    result = {}
    try:
        guest = GuestRun("-s", backend.sock, "--run",
                         guest_script("vgpio-guest-replug-run.sh"))
        gets = lambda value: lambda l: l.startswith("GET ") and \
            _value(l) == value
        guest.expect("out", gets(0), BOOT_TIMEOUT)
        backend(cmd="set_input", line=1, level=1)
        result["high_before"] = guest.expect("out", gets(1), 30)
        backend.proc.kill()
        backend.proc.wait()
        result["failed"] = guest.expect("out", gets(None), 60)
        # As after a crash, the dead socket file stays behind: the new
        # backend replaces it (Backend() returns once that one serves).
        backend = Backend(work, "a", *STANDARD, "--names", "led,button")
        backends.append(backend)
        result["replugged"] = guest.expect(
            "err", lambda l: "re-plugged %s" % backend.sock in l, 90)
        result["low_after"] = guest.expect("out", gets(0), 60)
        backend(cmd="set_input", line=1, level=1)
        result["loop_end"] = guest.expect(
            "out", lambda l: l.startswith("LOOP-END "), 30)
        guest.expect("out", lambda l: l.startswith("LED-SET "), 30)
        deadline = time.monotonic() + 6
        led = None
        while time.monotonic() < deadline and led != 1:
            led = backend(cmd="state")["lines"][0]["value"]
            time.sleep(0.2)
        result["led_after"] = led
        result["status"] = guest.finish(60)
        result.update(out=guest.out, err=guest.err)
        return result
    finally:
        stop_all(guest, backends)


def test_lists_the_chip_and_its_line_names(listed):
    assert listed["status"] == 0, listed
    out = listed["out"]
    assert out[0] == "gpiochip0 [virtio0] (2 lines)", out
    assert out[1] == "gpiochip0 - 2 lines:", out
    assert [l.split()[:3] for l in out[2:]] == [
        ["line", "0:", '"led"'], ["line", "1:", '"button"']], out


def test_reports_each_long_step_on_stderr(listed):
    err = "\n".join(listed["err"])
    for step in ("[vgpio.ko for ", "[initramfs]", "[boot] QEMU (TCG)",
                 "[boot] vgpio.ko loaded after", "attached ",
                 "[boot] 1 chip(s) up after"):
        assert step in err, err
    assert "Traceback" not in err
    # stdout holds what the command printed, nothing of the boot
    assert not [l for l in listed["out"] if "vgpio-guest" in l]


def test_waits_for_backends_started_after_it(late_pair):
    err = late_pair["err"]
    for sock in late_pair["socks"]:
        waited = [n for n, l in enumerate(err)
                  if "waiting for" in l and sock in l]
        attached = [n for n, l in enumerate(err) if "attached %s" % sock in l]
        assert waited and attached and waited[0] < attached[0], err


def test_two_backends_two_chips(late_pair):
    out = late_pair["out"]
    assert sorted(l for l in out if l.startswith("gpiochip") and "[" in l) \
        == ["gpiochip0 [virtio0] (2 lines)", "gpiochip1 [virtio1] (3 lines)"]
    names = [l.split()[2] for l in out if l.lstrip().startswith("line ")]
    assert names == ['"led"', '"button"', '"x"', '"y"', '"z"'], out


def test_exit_status_is_the_commands(late_pair):
    assert late_pair["status"] == 3, late_pair


def test_lines_work_before_the_backend_dies(replugged):
    assert _value(replugged["high_before"]) == 1


def test_reads_fail_while_the_backend_is_gone(replugged):
    # gpioget's error: a timed-out request, or the chip going away
    assert _value(replugged["failed"]) is None
    assert "gpioget: " in replugged["failed"], replugged["failed"]


def test_the_restarted_backend_is_plugged_again(replugged):
    err = replugged["err"]
    assert any("went away" in l for l in err), err
    assert replugged["replugged"].endswith(" as vgpio0-g2"), err
    # the guest probed the new device: two probes of a 2-line chip
    out = replugged["out"]
    probes = out[out.index("PROBES-BEGIN") + 1:out.index("PROBES-END")]
    assert len(probes) == 2, out


def test_lines_work_again_without_a_reboot(replugged):
    assert _value(replugged["low_after"]) == 0
    assert replugged["loop_end"].startswith("LOOP-END ")
    # the guest drove the output line of the new device, the host saw it
    assert replugged["led_after"] == 1, replugged
    assert replugged["status"] == 0, replugged
