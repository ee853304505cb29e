"""A hostile standard device under QEMU: virtio-pci, Debian's kernels.

The attacks of the UML runs that QEMU's vhost-user-gpio-pci lets a
backend make (it serves the config space itself, 8 bytes, so names past
the config window and an ID 30 device that is not GPIO are UML's alone):
hostile line names, 256 lines on QEMU's 64-entry eventq, wrong used
lengths (0 and 4 GiB - 1), an out-of-range status byte and value, a
dropped reply, an eventq buffer returned that was never made available,
a device that stalls and comes back, and a device silent from the
start. Our module only: Linux's gpio-virtio waits for a dropped reply
forever.

There is no shared file system: at each "SYNC x" the guest reads a line
from its console, which the test types once it has injected the fault.
Expected for every attack: a clear log line or error code, no oops, no
hang beyond the bound, and the lines still working after it.
"""

import re

import pytest

from e2e_helpers import (assert_fell_silent_and_answered_again,
                         qemu_finish, qemu_standard_guest)
from virtio_gpio.guests import qemu

SERIES = ("6.1", "6.12")
LINES = 256
#: printf formats, a path separator, a forged log line; then clean names
HOSTILE = ["%s%s%px", "a/b", "x\nvgpio: forged"]
NAMES = HOSTILE + ["h%d" % n for n in range(len(HOSTILE), LINES)]
#: QEMU 10's vhost-user-gpio-pci has 64-entry queues (vhost-user-base's
#: vq_size), and a waiting line holds one entry (the backend offers
#: indirect descriptors): lines 0-63 can take interrupts
SERVABLE = 64
#: fault -> the line it is tried on; "corrupt_type" is an out-of-range
#: status byte, "corrupt_value" an out-of-range value
FAULTS = {"drop": 3, "short_len": 4, "zero_len": 5, "huge_len": 6,
          "corrupt_type": 7, "corrupt_value": 8}
SILENT_LINES = 16
TIMEOUT_MS = 500


@pytest.fixture(scope="module", params=SERIES)
def run(request, tmp_path_factory, timings):
    series = request.param
    work = tmp_path_factory.mktemp("hostile-%s" % series)
    result = {"series": series}
    with qemu_standard_guest(
            series, "ours", work, "qemu-hostile-init.sh",
            ("--names", ",".join(NAMES), "--unchecked-names"),
            {"TIMEOUT_MS": TIMEOUT_MS, "BEYOND": SERVABLE + 10,
             "LAST": SERVABLE - 1,
             "FAULTS": " ".join("%s:%d" % f for f in FAULTS.items())},
            console_input=True, timings=timings,
            what="QEMU hostile standard device") as (guest, backend, _):
        guest.expect("EDGES-READY", timeout=300)
        # The last line the eventq serves fires like the first.
        for level in (1, 0):
            backend(cmd="set_input", line=SERVABLE - 1, level=level)
            guest.expect("EDGE ", timeout=30)
        for fault in FAULTS:
            guest.expect("SYNC fault-" + fault, timeout=60)
            backend(cmd="inject", fault=fault)
            guest.send("\n")
        guest.expect("SYNC forged", timeout=60)
        backend(cmd="inject", fault="forged_event")
        guest.send("\n")
        guest.expect("SYNC stall", timeout=60)
        backend(cmd="stall")
        guest.send("\n")
        guest.expect("SYNC resume", timeout=60)
        backend(cmd="stall", on=False)
        guest.send("\n")
        qemu_finish(guest, backend, result, "H")
    return result


@pytest.fixture(scope="module", params=SERIES)
def silent_run(request, tmp_path_factory):
    work = tmp_path_factory.mktemp("silent-%s" % request.param)
    with qemu_standard_guest(
            request.param, "ours", work, "qemu-silent-init.sh",
            ("--lines", str(SILENT_LINES), "--fault", "drop:100000"),
            {"TIMEOUT_MS": TIMEOUT_MS}) as (guest, backend, _):
        return qemu_finish(guest, backend, {}, "S")


def dmesg(run, prefix):
    lines = run["lines"]
    return lines[lines.index(prefix + "-DMESG-BEGIN") + 1:
                 lines.index(prefix + "-DMESG-END")]


def test_hostile_names_are_left_out_and_never_logged_raw(run):
    names = {int(m.group(1)): m.group(2) for m in (
        re.match(r"LINE (\d+) name=(\S*) ", l + " ") for l in run["lines"])
        if m}
    assert len(names) == LINES
    assert [names[n] for n in range(len(HOSTILE))] == [""] * len(HOSTILE)
    assert names[len(HOSTILE)] == NAMES[len(HOSTILE)]
    log = dmesg(run, "H")
    assert any(l.endswith("dropped device message: line names holding '%', "
                          "'/' or unprintable bytes left out (-22)")
               for l in log), log
    assert not any("forged" in l for l in log)


def test_lines_past_the_eventq_are_refused_and_the_last_one_fires(run):
    assert any(l.endswith("eventq too small for %d lines: lines %d and up "
                          "have no interrupt" % (LINES, SERVABLE))
               for l in dmesg(run, "H")), dmesg(run, "H")
    assert "H-BEYOND rc=1" in run["lines"]
    # Outside gpiolib's valid mask: no interrupt mapping at all.
    assert any("No such device or address" in l for l in run["lines"])
    assert "H-LAST rc=0" in run["lines"]


def test_faults_give_clear_errors(run):
    faults = {l.split()[1]: l for l in run["lines"] if l.startswith("FAULT ")}
    assert sorted(faults) == sorted(FAULTS)
    expected = {"drop": "timed out", "short_len": "Bad message",
                "zero_len": "Bad message", "huge_len": "Message too long",
                "corrupt_type": "Protocol error",
                "corrupt_value": "Invalid argument"}
    for fault, error in expected.items():
        assert "rc=1" in faults[fault] and error in faults[fault], \
            faults[fault]


def test_forged_eventq_return_is_refused_and_values_go_on(run):
    assert any(re.search(r"id \d+ is not a head", l)
               for l in dmesg(run, "H")), dmesg(run, "H")
    assert "RW-OK line=1 n=20" in run["lines"]
    # The watch cannot arm on a broken eventq, says so, and ends by its
    # bound (busybox's timeout: 128 + SIGTERM).
    assert any(l.endswith("interrupt setup of line 2 failed: -5")
               for l in dmesg(run, "H")), dmesg(run, "H")
    assert "H-FORGED-EDGES rc=143" in run["lines"]


def test_a_stalled_device_costs_one_timeout_then_works_again(run):
    # One timeout of 2 s, then failures at once, ETIMEDOUT each; resumed,
    # the device answers what it held and the line works, no reload.
    gets = [re.fullmatch(r"STALL-GET (\d) rc=(\d+) cs=(\d+) (.*)", l)
            for l in run["lines"] if l.startswith("STALL-GET ")]
    assert len(gets) == 4 and all(gets), gets
    assert all(g[2] != "0" and "timed out" in g[4] for g in gets), gets
    assert int(gets[0][3]) >= 195, gets[0][0]
    assert all(int(g[3]) < 100 for g in gets[1:]), [g[0] for g in gets]
    assert "H-STALL-AFTER rc=0" in run["lines"]
    assert_fell_silent_and_answered_again(dmesg(run, "H"))


def test_unload_reload_and_a_clean_log(run):
    assert "RMMOD rc=0" in run["lines"]
    assert "H-RELOAD rc=0" in run["lines"]
    assert "H-FAIL insmod" not in run["lines"]
    assert qemu.kernel_log_problems(dmesg(run, "H")) == []
    assert run["backend_exit"] == 0


def test_a_silent_device_costs_probe_one_timeout(silent_run):
    lines = silent_run["lines"]
    log = dmesg(silent_run, "S")
    assert any("no reply within %d ms" % TIMEOUT_MS in l for l in log), log
    seconds = int(next(l for l in lines
                       if l.startswith("S-SECONDS ")).split()[1])
    # One timeout per line would be 8 s; the bound is one, and rounding.
    assert seconds <= 2, seconds
    assert qemu.kernel_log_problems(log) == []
