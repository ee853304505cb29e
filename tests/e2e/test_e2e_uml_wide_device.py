"""The widest device the spec allows: 65535 lines, on UML's debug kernel.

tests/guest/wide-device-init.sh probes a standard device of 65535 lines
(ngpio is 16 bits), reads and drives lines at both ends, and watches every
line the eventq can serve at once. UML's eventq has 256 entries; a waiting
line holds one with indirect descriptors and two without. Expected: the
chip appears with all its lines, the driver says at probe which lines
cannot have interrupts, the watched lines fire, a line past them and the
last line are refused when requested (gpiolib gives them no interrupt:
the valid mask) instead of never firing, and the debug kernel reports
nothing. Probe time and the memory the driver took are printed.
"""

import os

import pytest

from e2e_helpers import (Backend, debug_kernel_findings, debug_series,
                         dmesg_block, guest_session, render_init, uml_module)
from virtio_gpio.guests import uml

LINES = 0xFFFF
LAST = LINES - 1
#: UML's vring size
EVENTQ = 256
#: lines that can wait for an interrupt at once: the backend offers
#: indirect descriptors, so each waiting line holds one ring entry
FIT = EVENTQ


@pytest.fixture(scope="module", params=debug_series())
def run(request, uml_build, tmp_path_factory):
    uml_kernel, _ = uml_build(request.param)
    work = str(tmp_path_factory.mktemp("wide-" + request.param))
    uml_module(uml_kernel, work)
    backend = Backend(work, "wide", "--protocol", "standard", "--lines",
                      str(LINES), "--once")
    guest = uml.Guest(uml_kernel,
                      render_init("wide-device-init.sh", work, FIT=str(FIT)),
                      [backend.sock], device_id=41, memory="256M",
                      log_path=os.path.join(work, "guest.log"))
    result = {}
    with guest_session(guest, backend):
        guest.expect("SYNC set", timeout=300)
        result["after_set"] = backend(cmd="state")["lines"]
        for line in (1, LAST - 1):
            backend(cmd="set_input", line=line, level=1)
        open(os.path.join(work, "go.set"), "w").close()
        guest.expect("SYNC toggle", timeout=300)
        for first in range(0, FIT, 64):
            backend(cmd="set_input", line=first + 5, level=1)
        open(os.path.join(work, "go.toggle"), "w").close()
        guest.expect("W-DMESG-END", timeout=120)
        guest.wait(60)
    result["lines"] = guest.lines
    result["dmesg"] = dmesg_block(guest.lines, "W")
    for line in guest.lines:
        if line.startswith(("W-PROBE-MS ", "W-MEM-KB ")):
            print("UML %s, %d lines: %s" % (request.param, LINES, line))
    return result


def test_the_chip_has_every_line(run):
    assert any(l.startswith("W-CHIP gpiochip") for l in run["lines"])
    assert any(l.endswith("virtio0: %d lines" % LINES) for l in run["dmesg"])


def test_lines_at_both_ends_work_both_ways(run):
    assert "W-SET rc=0" in run["lines"]
    for line in (0, LAST):
        assert run["after_set"][line]["value"] == 1
    assert "W-GET 1 1" in run["lines"]


def test_probe_says_which_lines_cannot_have_interrupts(run):
    assert any(l.endswith("eventq too small for %d lines: lines %d and up "
                          "have no interrupt" % (LINES, FIT))
               for l in run["dmesg"])


def test_every_servable_line_watched_at_once_and_firing(run):
    assert "W-WATCHED %d" % FIT in run["lines"]
    assert "W-EVENTS %d" % (FIT // 64) in run["lines"]
    assert "W-RMMOD rc=0" in run["lines"]


@pytest.mark.parametrize("line", [FIT, LAST])
def test_a_line_without_an_interrupt_is_refused_when_requested(run, line):
    beyond = next(l for l in run["lines"]
                  if l.startswith("W-BEYOND %d " % line))
    assert beyond.startswith("W-BEYOND %d rc=1 " % line)
    # libgpiod 1's line-event request: gpiolib's ENXIO for a line outside
    # the valid mask comes back from the v1 ioctl as ENODEV.
    assert "No such device" in beyond


def test_debug_kernel_reports_nothing(run):
    assert debug_kernel_findings(run["lines"], "W") == []
