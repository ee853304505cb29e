"""The standard protocol end to end: QEMU's vhost-user-gpio-pci + our backend.

Debian's kernels (6.1 and 6.12) boot under QEMU 10 (TCG) against
``vgpio-vhost-user --protocol standard``, each once with our module
(vgpio.ko, which binds device ID 41) and once with Linux's own gpio-virtio,
built out of tree from the same series' linux-source (neither Debian
kernel has CONFIG_GPIO_VIRTIO). QEMU 10 passes VIRTIO_GPIO_F_IRQ through
(7.2 withheld it), so besides names, values, parallel requests and load
cycles, interrupts run over virtio-pci: edges the host raises on an input
with the backend's control socket, and edges the guest raises itself on a
line the device loops back from an output. The same in-guest checks pass
for both drivers.
"""

import subprocess

import pytest

from e2e_helpers import (assert_host_edges, check_driver_args,
                         drive_host_edges, driver_column,
                         driver_report_problems, keep_driver_report,
                         qemu_finish, qemu_standard_guest)
from virtio_gpio.guests import drivers, qemu

#: the kernel series whose Debian images are installed to boot (the
#: newest series is a source tree only, see virtio_gpio.guests.kernels)
SERIES = ("6.1", "6.12")
DRIVERS = ("ours", "upstream")
NAMES = ["s0", "s1", "s2", "s3", "s4", "s5"]
#: the input line the host toggles through the control socket
HOST_EDGE_LINE = 2
HOST_EDGES = 6
#: output 4 drives input 5 inside the device model
LOOPBACK = (4, 5)
LOOP_EDGES = 20


@pytest.fixture(scope="module",
                params=[(s, d) for s in SERIES for d in DRIVERS],
                ids=["%s-%s" % (s, d) for s in SERIES for d in DRIVERS])
def run(request, tmp_path_factory, timings):
    series, driver = request.param
    work = tmp_path_factory.mktemp("std-%s-%s" % (series, driver))
    result = {"series": series, "driver": driver, "edges": [],
              "edge_error": None}
    # QEMU keeps the vhost-user connection while the VM runs (a driver
    # reset only stops the rings): the checker's report is written when
    # QEMU exits at the guest's power-off, which qemu_finish waits for.
    check = check_driver_args(work, "%s-%s" % (series, driver))
    with qemu_standard_guest(
            series, driver, work, "qemu-std-init.sh",
            ("--names", ",".join(NAMES), "--loopback", "%d:%d" % LOOPBACK)
            + check,
            {"EDGE_LINE": HOST_EDGE_LINE, "HOST_EDGES": HOST_EDGES,
             "LOOP_OUT": LOOPBACK[0], "LOOP_EDGES": LOOP_EDGES},
            timings=timings,
            what="QEMU %s standard-protocol run, %s driver"
                 % (qemu_version(), driver)) as (guest, backend, _):
        guest.expect("EDGES-READY", timeout=300)
        drive_host_edges(guest, backend, result, HOST_EDGES, HOST_EDGE_LINE)
        qemu_finish(guest, backend, result, "STD")
    result["driver_report"] = keep_driver_report(check, "qemu-" + series,
                                                 driver)
    return result


@pytest.fixture(scope="module", params=SERIES)
def no_irq_run(request, tmp_path_factory, timings):
    series = request.param
    work = tmp_path_factory.mktemp("std-noirq-%s" % series)
    check = check_driver_args(work, "%s-no-irq" % series)
    with qemu_standard_guest(
            series, "ours", work, "qemu-std-no-irq-init.sh",
            ("--names", ",".join(NAMES), "--no-irq") + check,
            timings=timings,
            what="QEMU standard-protocol run without F_IRQ, ours") as (
                guest, backend, _):
        result = qemu_finish(guest, backend, {"series": series}, "STD")
    result["driver_report"] = keep_driver_report(
        check, "qemu-%s-no-irq" % series, "ours")
    return result


def qemu_version():
    out = subprocess.run(["qemu-system-x86_64", "--version"], check=True,
                         capture_output=True, text=True).stdout
    return out.split()[3]


def test_bound_driver_chip_and_names(run):
    lines = run["lines"]
    # The virtio driver's name is the module's in both.
    assert "STD-BOUND %s" % drivers.MODULE_NAMES[run["driver"]] in lines, \
        lines[-40:]
    assert "CHIP label=virtio0 lines=%d" % len(NAMES) in lines
    for n, name in enumerate(NAMES):
        assert "LINE %d name=%s dir=in" % (n, name) in lines


def test_values_round_trip(run):
    assert "RW-OK line=1 n=50" in run["lines"]
    lat = next(l for l in run["lines"] if l.startswith("STD-LAT-GET "))
    assert float(lat.split()[1]) > 0


def test_irq_feature_negotiated(run):
    # Bit 0 of the features the guest driver accepted: VIRTIO_GPIO_F_IRQ.
    guest = next(l for l in run["lines"] if l.startswith("STD-FEATURES "))
    assert guest.split()[1][0] == "1", (qemu_version(), guest)
    # ... and what the backend was told at the last (re)negotiation.
    told = [l for l in run["backend_log"].splitlines() if "driver features" in l]
    assert told and int(told[-1].split()[-1], 16) & 1, told


def test_host_edges_through_the_eventq(run):
    assert_host_edges(run, HOST_EDGES, HOST_EDGE_LINE, "STD-EDGES rc=0")


def test_looped_back_edges_through_the_eventq(run):
    loop = next(l for l in run["lines"] if l.startswith("STD-LOOP "))
    # "STD-LOOP rc=0 median_us p99_us edges_per_s lost"
    fields = loop.split()
    assert fields[1] == "rc=0" and len(fields) == 6, loop
    assert float(fields[2]) > 0
    # A retry is allowed (the driver re-arms the line's eventq buffer
    # after its handler ran), losing most edges is not.
    assert int(fields[5]) <= LOOP_EDGES // 4, loop


def test_parallel_requests_and_load_cycles(run):
    ok = sorted(l for l in run["lines"] if l.startswith("RW-OK") and
                l.endswith("n=100"))
    assert ok == ["RW-OK line=%d n=100" % l for l in (0, 1, 3)]
    assert "RMMOD rc=0" in run["lines"]
    assert "CYCLES 10" in run["lines"]


def test_driver_check_is_what_the_docs_say(run):
    # Ours must break no driver requirement; what Linux's breaks is a
    # result, recorded in Documentation/conformance-kit.rst ("Drivers
    # checked"): a change on either side shows here.
    assert driver_report_problems(
        run["driver_report"], run["driver"],
        driver_column(run["driver"], "QEMU", run["series"])) == []


def test_clean_log_and_backend_exit(run):
    start = run["lines"].index("STD-DMESG-BEGIN")
    dmesg = run["lines"][start:run["lines"].index("STD-DMESG-END")]
    assert qemu.kernel_log_problems(dmesg) == []
    assert [l for l in dmesg if any(w in l for w in (
        "request failed", "dropped device", "setting line", "freeing line",
        "interrupt setup", "timed out"))] == []
    if run["driver"] == "ours":
        probes = [l for l in dmesg if "virtio0: %d lines" % len(NAMES) in l]
        assert len(probes) == 11, probes  # the first load + 10 cycles
        # gpiolib's complaint about a shared, mutable irq_chip, which
        # Linux's gpio-virtio of 6.1 and 6.12 earns at every probe.
        assert [l for l in dmesg if "not an immutable chip" in l] == []
    assert "STD-FAIL insmod" not in run["lines"]
    assert run["backend_exit"] == 0


def test_without_irq_feature_edge_requests_are_refused(no_irq_run):
    lines = no_irq_run["lines"]
    guest = next(l for l in lines if l.startswith("STD-FEATURES "))
    assert guest.split()[1][0] == "0", guest
    told = [l for l in no_irq_run["backend_log"].splitlines()
            if "driver features" in l]
    assert told and all(int(l.split()[-1], 16) & 1 == 0 for l in told), told
    assert "request line 2: No such device or address" in lines
    assert "STD-EDGES rc=1" in lines
    assert "RW-OK line=1 n=20" in lines
    assert "RMMOD rc=0" in lines
    start = lines.index("STD-DMESG-BEGIN")
    dmesg = lines[start:lines.index("STD-DMESG-END")]
    assert qemu.kernel_log_problems(dmesg) == []
    assert no_irq_run["backend_exit"] == 0


def test_without_irq_feature_the_driver_sends_no_irq_message(no_irq_run):
    # V-RQ-6 is observed at each SET_IRQ_TYPE: not applicable here means
    # the refused edge request never reached the device.
    rows = no_irq_run["driver_report"]
    assert rows is not None, "the backend wrote no driver report"
    assert ["%s: %s" % (key, row["evidence"]) for key, row in rows.items()
            if row["verdict"] == "fail"] == []
    assert rows["V-RQ-6"]["verdict"] == "not applicable"
