"""Every failure path of our probe, in a real kernel: fault injection.

On each debug UML kernel (virtio_gpio.guests.uml.e2e_debug), tests/guest/
fail-nth-init.sh binds our module to a standard-protocol device again and
again, the Nth slab or page allocation of the probing task failing, for
N = 1, 2, ... until a probe runs with no fault left to inject. Each failed
probe must unwind completely: no warning or lockdep report, no leak under
kmemleak, and the device works after the last probe.
"""

import os
import re

import pytest

from e2e_helpers import (Backend, debug_kernel_findings, debug_series,
                         dmesg_block, guest_session, render_init, uml_module)
from virtio_gpio.guests import uml

LINES = 4
#: far more fault points than one probe has (about 125 on 7.3): a loop that
#: reaches this bound never found the end of the probe
MAX_FAULTS = 2000


@pytest.fixture(scope="module", params=debug_series())
def run(request, uml_build, tmp_path_factory, timings):
    uml_kernel, source = uml_build(request.param)
    assert uml.e2e_debug(uml.tree_series(source))
    work = str(tmp_path_factory.mktemp("fail-nth-" + request.param))
    uml_module(uml_kernel, work)
    start, end = function_range(uml_kernel, "um_request_irq")
    init = render_init("fail-nth-init.sh", work, MAX=MAX_FAULTS, LINES=LINES,
                       REJECT_START="0x%x" % start, REJECT_END="0x%x" % end)
    backend = Backend(work, "std", "--protocol", "standard", "--lines",
                      str(LINES), "--once")
    guest = uml.Guest(uml_kernel, init, [backend.sock], device_id=41,
                      memory="256M", log_path=os.path.join(work, "guest.log"))
    with guest_session(guest, backend):
        guest.expect("FI-DMESG-END", timeout=600)
        guest.wait(60)
    result = {"lines": guest.lines, "dmesg": dmesg_block(guest.lines, "FI")}
    counts = tried(result)
    if counts:
        timings.append("UML %s fault injection: %d fault points of the "
                       "probe tried, %d of them failed it"
                       % (request.param, counts[0], counts[1]))
    return result


def function_range(uml_kernel, name):
    """[start, end) of the kernel function ``name``, from System.map: up to
    the next symbol's address."""
    with open(os.path.join(uml_kernel, "System.map")) as f:
        symbols = [(int(address, 16), symbol) for address, _, symbol in
                   (line.split()[:3] for line in f)]
    start = next(address for address, symbol in symbols if symbol == name)
    return start, min(address for address, _ in symbols if address > start)


def tried(run):
    """[fault points tried, probes failed, count left at the end], or None
    when the guest did not get that far."""
    for line in run["lines"]:
        match = re.fullmatch(r"FI-TRIED (\d+) FAILED (\d+) LAST-LEFT (\d+)",
                             line)
        if match:
            return [int(x) for x in match.groups()]
    return None


def test_every_fault_point_of_the_probe_is_tried(run):
    assert tried(run), [l for l in run["lines"] if l.startswith("FI-")]
    count, failed, left = tried(run)
    # The loop ended on its own (a probe with a fault to spare), not at
    # the bound. Some faults land where the kernel carries on without the
    # memory (a uevent, a debugfs entry); the others fail the probe, at
    # every stage of our unwinding.
    assert 0 < failed < count < MAX_FAULTS and left > 0
    for stage in ("device rejected: out of memory (-12)",
                  "cannot find virtqueues: -12",
                  "cannot register GPIO chip: -12"):
        assert any(l.endswith(stage) for l in run["dmesg"]), stage


def test_failed_probes_unwind_without_reports_or_leaks(run):
    assert debug_kernel_findings(run["lines"], "FI") == []


def test_the_device_works_after_the_last_probe(run):
    chip = next(l for l in run["lines"] if l.startswith("FI-CHIP "))
    assert re.fullmatch(r"FI-CHIP gpiochip\d+", chip), chip
    assert "FI-SET rc=0" in run["lines"]
    assert "FI-GET 0" in run["lines"]
    assert "FI-RMMOD rc=0" in run["lines"]
