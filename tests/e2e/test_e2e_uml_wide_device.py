"""Every line watched on a device with more lines than its eventq serves.

A standard device of 256 lines on UML, whose eventq has 256 entries: a
line waiting for an interrupt holds a two-descriptor buffer there, so 128
lines can be armed. tests/guest/watch-all-init.sh watches all 128 at once
and asks for one more; the test toggles a line in each half. Expected:
the driver says at probe which lines cannot have interrupts, the 128 fire,
the 129th is refused when requested (ENOSPC) instead of never firing, and
the debug kernel reports nothing.
"""

import os

import pytest

from e2e_helpers import (Backend, debug_kernel_findings, debug_series,
                         dmesg_block, render_init, uml_module)
from virtio_gpio.guests import uml


@pytest.fixture(scope="module", params=debug_series())
def run(request, uml_build, tmp_path_factory):
    uml_kernel, _ = uml_build(request.param)
    work = str(tmp_path_factory.mktemp("watch-all-" + request.param))
    uml_module(uml_kernel, work)
    backend = Backend(work, "wide", "--protocol", "standard", "--lines",
                      "256", "--once")
    guest = uml.Guest(uml_kernel, render_init("watch-all-init.sh", work),
                      [backend.sock], device_id=41, memory="256M",
                      log_path=os.path.join(work, "guest.log"))
    try:
        guest.expect("SYNC toggle", timeout=300)
        for line in (5, 100):
            backend(cmd="set_input", line=line, level=1)
        open(os.path.join(work, "go.toggle"), "w").close()
        guest.expect("W-DMESG-END", timeout=120)
        guest.wait(60)
    finally:
        guest.kill()
        backend.stop()
    return {"lines": guest.lines, "dmesg": dmesg_block(guest.lines, "W")}


def test_probe_says_which_lines_cannot_have_interrupts(run):
    assert any(l.endswith("eventq too small for 256 lines: interrupts on "
                          "lines 128 and up refused") for l in run["dmesg"])


def test_all_servable_lines_watched_at_once_and_firing(run):
    assert "W-WATCHED 128" in run["lines"]
    assert "W-EVENTS 2" in run["lines"]
    assert "W-RMMOD rc=0" in run["lines"]


def test_a_line_past_the_eventq_is_refused_when_requested(run):
    beyond = next(l for l in run["lines"] if l.startswith("W-BEYOND "))
    assert beyond.startswith("W-BEYOND rc=1 ")
    assert "No space left on device" in beyond


def test_debug_kernel_reports_nothing(run):
    assert debug_kernel_findings(run["lines"], "W") == []
