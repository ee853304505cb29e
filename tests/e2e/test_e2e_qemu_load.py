"""vgpio.ko in Debian's own kernels under QEMU, with a device attached.

Per kernel series, one QEMU (TCG) boot of Debian's kernel image with
QEMU's vhost-user-gpio-pci served by our backend (standard protocol, with
VIRTIO_GPIO_F_IRQ). The guest runs CYCLES probe/remove cycles of our
module on that device, alternating the two ways in and out: insmod (probe)
then unbind (remove), bind (probe) then rmmod (remove). Between probe and
remove every cycle does real GPIO work: line info, a write/read-back, and
edges the device loops back from an output to an input through the
eventq. The kernel log must stay clean throughout.
"""

import re

import pytest

from e2e_helpers import qemu_standard_guest
from virtio_gpio.guests import qemu

#: the kernel series whose Debian images are installed to boot
SERIES = ("6.1", "6.12")
CYCLES = 50
NAMES = ["k0", "k1", "k2", "k3", "k4", "k5"]
# Line 4 drives line 5 inside the device model: "gpio-probe loop 4 N".
LOOPBACK = "4:5"


@pytest.fixture(scope="module", params=SERIES)
def boot(request, tmp_path_factory, timings):
    series = request.param
    work = tmp_path_factory.mktemp("load-" + series)
    with qemu_standard_guest(
            series, "ours", work, "qemu-load-init.sh",
            ("--names", ",".join(NAMES), "--loopback", LOOPBACK),
            {"CYCLES": CYCLES, "LINES": len(NAMES)}, timings=timings,
            what="QEMU (TCG) boot + %d probe/remove cycles with a device"
                 % CYCLES) as (guest, backend, release):
        guest.expect("LOAD-DMESG-END", timeout=600)
        guest.wait(60)
        return {"series": series, "release": release, "lines": guest.lines,
                "backend_exit": backend.proc.wait(30),
                "backend_log": backend.text()}


def dmesg(boot):
    lines = boot["lines"]
    return lines[lines.index("LOAD-DMESG-BEGIN"):lines.index("LOAD-DMESG-END")]


def test_every_cycle_probes_works_and_removes(boot):
    lines = boot["lines"]
    assert [l for l in lines if "LOAD-FAIL" in l] == [], "\n".join(lines[-40:])
    assert "LOAD-CYCLES %d" % CYCLES in lines, "\n".join(lines[-40:])
    # One probe message per cycle: each cycle really reached probe().
    probes = [l for l in dmesg(boot) if re.search(r"virtio0: %d lines$"
                                                   % len(NAMES), l)]
    assert len(probes) == CYCLES, probes


def test_edges_reach_the_driver_through_the_eventq(boot):
    features = next(l for l in boot["lines"] if l.startswith("FEATURES "))
    # Bit 0 of the negotiated features: VIRTIO_GPIO_F_IRQ.
    assert features.split()[1][0] == "1", features
    loops = [l.split() for l in boot["lines"] if l.startswith("CYCLE ")]
    assert len(loops) == CYCLES
    # "CYCLE i LOOP median_us p99_us ops_per_s lost". The device reports
    # an edge only while it holds the line's eventq buffer, re-armed by
    # the driver after its handler ran: a retry now and then is the
    # protocol, most edges lost would be a driver that stopped re-arming.
    lost = sum(int(l[6]) for l in loops)
    assert lost <= CYCLES // 2, loops


def test_kernel_log_is_clean(boot):
    log = dmesg(boot)
    assert any("vgpio" in line for line in log)
    assert qemu.kernel_log_problems(log) == []


def test_device_stayed_connected(boot):
    # The vhost-user connection outlives every probe/remove cycle: QEMU
    # resets the device, the backend restarts its rings and keeps serving.
    assert boot["backend_log"].count("front end connected") == 1
    assert "front end error" not in boot["backend_log"]
    assert boot["backend_exit"] == 0
