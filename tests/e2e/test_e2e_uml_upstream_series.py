"""The upstream series (upstream/) end to end: Linux's own gpio-virtio
from the newest Debian source, built without and with the series, each
booted once on the newest debug UML kernel (lockdep with
PROVE_RAW_LOCK_NESTING, KASAN, kmemleak) against our backend, through the
cases the series fixes (tests/guest/upstream-series-init.sh):

* the raw-lock path: edges on a watched line, each re-arming the line's
  eventq buffer; both builds tell lockdep that adding a buffer may take a
  spinlock_t (tests/guest/upstream-might-map.h, what swiotlb does);
* device-controlled status: an eventq buffer returned with status 0x7f;
* length before status: a reply with a bad status and used length 0;
* silent device: a caller waiting for a reply is killed;
* unbind under load: the driver unbound while callers wait on every line.

Each test checks the fixed behaviour: it must hold with the series, and
it must not hold without it (the "without" run shows each bug).
"""

import os
import re
import shutil
import subprocess
import time

import pytest

from checkout import ROOT
from e2e_helpers import (GPIOLIB_HELD_LINE_LABEL, GUEST, Backend,
                         build_gpio_probe, debug_kernel_findings, dmesg_block,
                         guest_session, render_init)
from virtio_gpio.guests import uml, upstream_series

SERIES = os.path.join(ROOT, "upstream")
MIGHT_MAP = os.path.join(GUEST, "upstream-might-map.h")
#: replies the silent device drops: more than the rest of the run sends
SILENT = 100000


@pytest.fixture(scope="module", params=["without", "with"])
def run(request, uml_build, tmp_path_factory, timings):
    variant = request.param
    uml_kernel, source = uml_build("newest")
    assert uml.e2e_debug(uml.tree_series(source))
    work = str(tmp_path_factory.mktemp("upstream-series-" + variant))
    driver = os.path.join(source, upstream_series.DRIVER)
    if variant == "with":
        driver = upstream_series.patched_driver(
            upstream_series.apply(source, SERIES, work))
    ko, _ = upstream_series.build(uml_kernel, driver, work, arch="um",
                                  include=MIGHT_MAP)
    shutil.copy(ko, os.path.join(work, "driver.ko"))
    build_gpio_probe(os.path.join(work, "gpio-probe"))
    init = render_init("upstream-series-init.sh", work)
    backend = Backend(work, "std", "--protocol", "standard", "--lines", "4",
                      "--once")
    guest = uml.Guest(uml_kernel, init, [backend.sock], device_id=41,
                      memory="256M", log_path=os.path.join(work, "guest.log"))

    def go(name):
        open(os.path.join(work, "go." + name), "w").close()

    result = {"variant": variant, "edges": []}
    begin = time.monotonic()
    with guest_session(guest, backend):
        guest.expect("EDGES-READY", timeout=180)
        for i in range(4):
            backend(cmd="set_input", line=2, level=(i + 1) % 2)
            result["edges"].append(guest.expect("EDGE ", timeout=30))
        guest.expect("SYNC corrupt-irq", timeout=60)
        backend(cmd="inject", fault="corrupt_irq_status")
        go("corrupt-irq")
        guest.expect("EDGES-READY", timeout=30)
        # Line 2 is low: the rising edge comes back with the bad status,
        # the falling one only if the driver gave the buffer back.
        backend(cmd="set_input", line=2, level=1)
        time.sleep(1)
        backend(cmd="set_input", line=2, level=0)
        guest.expect("CORRUPT-IRQ rc=", timeout=60)
        guest.expect("SYNC status-len", timeout=60)
        backend(cmd="inject", fault="corrupt_type")
        backend(cmd="inject", fault="zero_len")
        go("status-len")
        guest.expect("SYNC silent", timeout=60)
        backend(cmd="inject", fault="drop", count=SILENT)
        go("silent")
        guest.expect("UPS-DMESG-END", timeout=240)
        try:
            guest.wait(10)
        except subprocess.TimeoutExpired:
            # Without the series the hung unbind holds the device lock,
            # which power-off's device_shutdown() waits for.
            pass
    timings.append("UML newest, Linux's gpio-virtio %s the upstream series: "
                   "%.1f s" % (variant, time.monotonic() - begin))
    result["lines"] = guest.lines
    result["dmesg"] = dmesg_block(guest.lines, "UPS")
    return result


def line(run, prefix):
    found = [l for l in run["lines"] if l.startswith(prefix)]
    assert len(found) == 1, (prefix, found)
    return found[0]


def fixed(run, holds, evidence=None):
    """Assert that ``holds`` (the fixed behaviour) is true with the series
    and false without it; ``evidence`` is shown when it is not."""
    if run["variant"] == "with":
        assert holds, evidence
    else:
        assert not holds, evidence


def test_edges_reach_the_watcher(run):
    # The case the raw-lock check rides on works with both builds.
    edges = [e.split() for e in run["edges"]]
    assert [e[1] for e in edges] == ["rising", "falling"] * 2
    assert "LOCKDEP-EDGES rc=0" in run["lines"]


def test_no_buffer_is_queued_under_a_raw_spinlock(run):
    invalid = [l for l in run["dmesg"] if "Invalid wait context" in l]
    if run["variant"] == "without":
        # What lockdep saw (it reports only its first finding): a buffer
        # added under the driver's raw eventq_lock, at the first arm.
        report = "\n".join(run["dmesg"])
        assert "(&vgpio->eventq_lock)" in report, report
        assert "(upstream_test_dma_map_lock)" in report, report
    fixed(run, invalid == [])


def test_device_controlled_status_gives_no_warning_and_the_line_lives(run):
    warned = [l for l in run["dmesg"] if "WARNING" in l]
    logged = [l for l in run["dmesg"]
              if "irq with invalid status 127 on line 2" in l]
    rc = line(run, "CORRUPT-IRQ rc=")
    fixed(run, not warned and len(logged) == 1 and rc == "CORRUPT-IRQ rc=0")


def test_length_is_checked_before_status(run):
    assert re.fullmatch(r"STATUS-LEN rc=\d+ .*Invalid argument.*",
                        line(run, "STATUS-LEN")), line(run, "STATUS-LEN")
    blames_length = any("returned incorrect len (2 : 0)" in l
                        for l in run["dmesg"])
    blames_status = any("GPIO request failed: 0" in l for l in run["dmesg"])
    fixed(run, blames_length and not blames_status)


def test_a_caller_waiting_on_a_silent_device_can_be_killed(run):
    # It waited (uninterruptibly without the series), then was killed.
    assert line(run, "SILENT-CALLER ") in ("SILENT-CALLER D",
                                           "SILENT-CALLER S")
    # Gone: reaped by the init shell, or a zombie not yet reaped.
    fixed(run, line(run, "KILLED-CALLER ") in ("KILLED-CALLER gone",
                                               "KILLED-CALLER Z"))


def test_unbind_under_load_returns_and_wakes_the_callers(run):
    assert re.fullmatch(r"UNBINDING virtio\d+", line(run, "UNBINDING"))
    readers = line(run, "READERS ").split()[1:]
    assert len(readers) == 4
    fixed(run, line(run, "UNBIND ") in ("UNBIND gone", "UNBIND Z")
          and all(state in ("gone", "Z") for state in readers))


def test_debug_kernel_reports_nothing_with_the_series(run):
    # Unbind under load: a reader released after the unbind leaks its
    # label in gpiolib (with the series it is woken, so whether it leaks
    # depends on who gets there first).
    findings = debug_kernel_findings(run["lines"], "UPS", known_leaks=[
        GPIOLIB_HELD_LINE_LABEL])
    # Without the series the WARNING, the lockdep report and the hung
    # tasks are findings; with it there must be none.
    fixed(run, findings == [], "\n".join(findings))
