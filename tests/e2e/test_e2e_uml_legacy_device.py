"""A legacy standard device, on the newest debug UML kernel.

The standard GPIO device's messages and config space are little-endian:
the virtio 1.x interface, which VIRTIO_F_VERSION_1 says the device has.
Our backend offered without it (``--legacy``) is a legacy device, which
the module must refuse at probe with the reason, while a 1.x device
beside it binds and works. The simulator's version of this is
tests/unit/test_standard_core.py::test_a_legacy_standard_device_is_refused.
"""

import os

import pytest

from e2e_helpers import (Backend, debug_kernel_findings, debug_series,
                         dmesg_block, guest_session, render_init, uml_module)
from virtio_gpio.guests import uml


@pytest.fixture(scope="module", params=debug_series())
def run(request, uml_build, tmp_path_factory):
    uml_kernel, _ = uml_build(request.param)
    work = str(tmp_path_factory.mktemp("legacy-" + request.param))
    uml_module(uml_kernel, work)
    legacy = Backend(work, "legacy", "--protocol", "standard", "--lines",
                     "2", "--legacy", "--once")
    modern = Backend(work, "modern", "--protocol", "standard", "--lines",
                     "3", "--once")
    guest = uml.Guest(uml_kernel, render_init("legacy-device-init.sh", work),
                      [legacy.sock, modern.sock], device_id=41,
                      memory="256M", log_path=os.path.join(work, "guest.log"))
    with guest_session(guest, legacy, modern):
        guest.expect("LEG-DMESG-END", timeout=180)
        guest.wait(60)
    return {"lines": guest.lines, "dmesg": dmesg_block(guest.lines, "LEG")}


def test_the_legacy_device_is_refused_with_the_reason(run):
    assert "LEG-BOUND virtio0 none" in run["lines"]
    assert any(l.endswith("virtio0: device rejected: legacy device: the "
                          "standard GPIO device needs VIRTIO_F_VERSION_1 "
                          "(-19)") for l in run["dmesg"]), run["dmesg"]


def test_the_device_beside_it_binds(run):
    assert "LEG-INSMOD rc=0" in run["lines"]
    assert "LEG-BOUND virtio1 vgpio" in run["lines"]
    chips = next(l for l in run["lines"] if l.startswith("LEG-CHIPS "))
    assert chips.count("(3 lines)") == 1 and "(2 lines)" not in chips
    assert "LEG-RMMOD rc=0" in run["lines"]


def test_the_debug_kernel_reports_nothing(run):
    assert debug_kernel_findings(run["lines"], "LEG") == []
