"""Several virtio GPIO devices in one guest, each its own chip.

One backend process serves three standard devices of different line
counts, names and input levels (tests/helpers/several_devices.py). QEMU
attaches them as three vhost-user-gpio-pci devices to Debian's 6.1 and
6.12 kernels, UML as three virtio_uml devices to its 6.1 and newest
kernels; each boot runs one driver through tests/guest/several-devices.sh:
each device's chip, values read and driven on each reaching the right
model, edges on each device's line firing that device's watcher only,
one device unbound while the others go on (values, edges), and bound
again.

Linux's gpio-virtio before 2025 ("gpio: virtio: support multiple
virtio-gpio controller instances", in the newest series) shares one
static irq_chip between its instances. gpiolib hooks it for the first
chip only, so the first interrupt requested on another chip calls a NULL
hook: that is what these runs find on 6.1 and 6.12, and assert. As that
oops ends the run, a second boot of that driver on each requests no
interrupt before the unbind, and asserts what unbinding does to the other
chips' interrupts. The user guide's "several-devices" table says what
every run found; the tests check it does.
"""

import os
import re
import time

import pytest

import several_devices as sd
from checkout import ROOT
from e2e_helpers import (GUEST, KERNEL_SRC, UML_SERIES, build_gpio_probe,
                         debug_kernel_findings, doc_table, qemu_initramfs,
                         render_init)
from raw_lock_alloc import without_raw_lock_alloc
from virtio_gpio.guests import drivers, kernels, qemu, uml

QEMU_SERIES = ("6.1", "6.12")
#: the runs Linux's driver fails by its shared irq_chip: the newest UML
#: series has the 2025 fix
SHARED_IRQ_CHIP = [("qemu", "6.1", "upstream"), ("qemu", "6.12", "upstream"),
                   ("uml", "6.1", "upstream")]
RUNS = [("qemu", s, d) for s in QEMU_SERIES for d in ("ours", "upstream")] \
    + [("uml", s, d) for s in UML_SERIES for d in ("ours", "upstream")]
WORKING = [r for r in RUNS if r not in SHARED_IRQ_CHIP]
USER_GUIDE = os.path.join(ROOT, "Documentation", "user-guide.rst")


def boot_qemu(series, driver, work, irq_first=True, edge_wait=sd.EDGE_WAIT):
    kdir, release = kernels.debian_headers(series)
    source = kernels.source(series) if driver == "upstream" else None
    module = drivers.build(driver, kdir, str(work), kernel_src=KERNEL_SRC,
                           linux_source=source)
    initrd = qemu_initramfs(
        work, release, {"driver.ko": module, "several-devices.sh":
                        os.path.join(GUEST, "several-devices.sh")},
        "several-devices-qemu-init.sh", sd.guest_values(irq_first))
    backend = sd.BenchBackend(work)
    guest = None
    try:
        guest = qemu.Guest(qemu.kernel_image(release), initrd,
                           extra_args=qemu.vhost_user_gpio_args(
                               *backend.sockets),
                           log_path=str(work / "guest.log"),
                           console_input=True)
        result = sd.drive_run(guest, backend, lambda name: guest.send("\n"),
                              edge_wait=edge_wait)
        guest.proc.wait(30)
    finally:
        if guest is not None:
            guest.kill()
        result_log = backend.stop()
    result.update(lines=guest.lines, backend_log=result_log,
                  kernel="Debian %s" % release,
                  doc_row="Debian %s" % series)
    return result


def boot_uml(series, driver, work, uml_build):
    uml_kernel, linux_source = uml_build(series)
    work = str(work)
    os.replace(drivers.build(driver, uml_kernel, work,
                             kernel_src=KERNEL_SRC, linux_source=linux_source,
                             arch="um"), os.path.join(work, "driver.ko"))
    build_gpio_probe(os.path.join(work, "gpio-probe"))
    init = render_init("several-devices-uml-init.sh", work,
                       **sd.guest_values())
    backend = sd.BenchBackend(work)
    guest = None

    def go(name):
        open(os.path.join(work, "go." + name), "w").close()

    try:
        guest = uml.Guest(uml_kernel, init, backend.sockets, device_id=41,
                          memory="256M",
                          log_path=os.path.join(work, "guest.log"))
        result = sd.drive_run(guest, backend, go)
        if result["panic"] is None:  # a panicked UML halts for good
            guest.wait(60)
    finally:
        if guest is not None:
            guest.kill()
        result_log = backend.stop()
    result.update(lines=guest.lines, backend_log=result_log,
                  kernel="UML %s" % uml.tree_series(linux_source),
                  doc_row="UML %s" % uml.tree_series(linux_source),
                  debug=uml.e2e_debug(uml.tree_series(linux_source)))
    return result


def boot(request, tmp_path_factory, uml_build, timings, irq_first=True,
         edge_wait=sd.EDGE_WAIT):
    platform, series, driver = request.param
    work = tmp_path_factory.mktemp("several-%s-%s-%s%s" % (
        request.param + ("" if irq_first else "-unbind-first",)))
    begin = time.monotonic()
    if platform == "qemu":
        result = boot_qemu(series, driver, work, irq_first, edge_wait)
    else:
        result = boot_uml(series, driver, work, uml_build)
    timings.append("several devices, %s %s, %s driver%s: %.1f s" % (
        result["kernel"], platform, driver,
        "" if irq_first else ", first interrupts after an unbind",
        time.monotonic() - begin))
    result.update(platform=platform, series=series, driver=driver)
    return result


@pytest.fixture(scope="module", params=WORKING, ids="-".join)
def run(request, tmp_path_factory, uml_build, timings):
    return boot(request, tmp_path_factory, uml_build, timings)


@pytest.fixture(scope="module", params=SHARED_IRQ_CHIP, ids="-".join)
def shared_run(request, tmp_path_factory, uml_build, timings):
    return boot(request, tmp_path_factory, uml_build, timings)


@pytest.fixture(scope="module", params=SHARED_IRQ_CHIP[:2], ids="-".join)
def unbind_first_run(request, tmp_path_factory, uml_build, timings):
    """Linux's driver of 6.1 and 6.12 with no interrupt requested before
    the unbind: what the unbind does to the shared irq_chip. Its edges are
    lost, each known to be in 2 s (a thousand times the ~2 ms they take
    when they come)."""
    return boot(request, tmp_path_factory, uml_build, timings,
                irq_first=False, edge_wait=2)


def edges(run, phase):
    """What each edge the host raised in ``phase`` brought: (device,
    level, [(rising|falling, line) of each EDGE the guest printed])."""
    return [(t["device"], t["level"],
             [(e.split()[1], int(e.split()[3][len("line="):]))
              for e in t["seen"]])
            for t in run["toggles"] if t["phase"] == phase]


def expected_edges(devices):
    return [(d.name, level, [(kind, d.watch)]) for d in devices
            for level, kind in ((1, "rising"), (0, "falling"))]


def model_values(run, sync):
    """Each device's line values in its model at the guest's sync point,
    as "0100"."""
    return {name: "".join(str(l["value"]) for l in lines)
            for name, lines in run["states"][sync].items()}


def kernel_problems(run):
    """What the run's kernel reported, less lockdep's report of Linux's
    driver allocating under its raw eventq_lock on the debug kernel (see
    raw_lock_alloc), which must be there."""
    if run["platform"] == "qemu":
        return qemu.kernel_log_problems(sd.dmesg(run["lines"]))
    lines = run["lines"]
    if run["driver"] == "upstream" and run["debug"]:
        lines, found = without_raw_lock_alloc(lines)
        assert found, "no lockdep report of the indirect table's " \
            "allocation under eventq_lock: update raw_lock_alloc"
    return debug_kernel_findings(lines, "MD", run["debug"])


def user_guide_says(run):
    """The user guide's cell for the run's kernel and driver in its
    "several-devices" table."""
    _, rows = doc_table(USER_GUIDE, "several-devices")
    # "Debian 6.1 (QEMU ...)", "UML 7.3, debug kernel (...)": the kernel
    # is what comes before the first comma or parenthesis.
    (row,) = [r for r in rows
              if re.split(r",| \(", r[0])[0] == run["doc_row"]]
    return row[1 if run["driver"] == "ours" else 2]


def test_each_device_is_its_own_chip(run):
    boot = sd.by_device(sd.surveys(run["lines"], "boot"))
    assert sorted(boot) == sorted(d.name for d in sd.DEVICES), boot
    for d in sd.DEVICES:
        chip = boot[d.name]
        assert (chip["names"], chip["lines"]) == (d.names, str(len(d.names)))
        # The label is the virtio device's name, the values its model's.
        assert (chip["label"], chip["values"]) == (chip["vdev"], d.values())
    assert len({c["chip"] for c in boot.values()}) == len(sd.DEVICES)
    assert len({c["vdev"] for c in boot.values()}) == len(sd.DEVICES)


def test_each_driven_line_lands_in_its_own_devices_model(run):
    assert ["MD-DRIVE %s line=%d level=1 rc=0" % (d.first, d.drive)
            for d in sd.DEVICES] == [
        l for l in run["lines"] if l.startswith("MD-DRIVE ")][:3]
    assert model_values(run, "driven") == {d.name: d.values(driven=1)
                                           for d in sd.DEVICES}


def test_an_edge_fires_its_devices_watcher_only(run):
    assert edges(run, "all") == expected_edges(sd.DEVICES)
    assert ["MD-WATCHED all %s rc=0" % d.first for d in sd.DEVICES] == [
        l for l in run["lines"] if l.startswith("MD-WATCHED all ")]


def test_unbinding_one_device_leaves_the_others_working(run):
    boot = sd.by_device(sd.surveys(run["lines"], "boot"))
    gone = boot[sd.UNBIND.name]["vdev"]
    assert "MD-UNBIND %s rc=0" % gone in run["lines"]
    unbound = sd.surveys(run["lines"], "unbound")
    assert unbound.pop(gone) is None
    others = [d for d in sd.DEVICES if d is not sd.UNBIND]
    left = sd.by_device(unbound)
    assert sorted(left) == sorted(d.name for d in others)
    for d in others:
        # The same chip, and what was driven before the unbind still there.
        assert dict(left[d.name], values=None) == dict(boot[d.name],
                                                       values=None)
        assert left[d.name]["values"] == d.values(driven=1)
    assert model_values(run, "others-driven") == dict(
        {d.name: d.values(driven=0) for d in others},
        **{sd.UNBIND.name: sd.UNBIND.values(driven=1)})
    assert edges(run, "unbound") == expected_edges(others)
    assert ["MD-WATCHED unbound %s rc=0" % d.first for d in others] == [
        l for l in run["lines"] if l.startswith("MD-WATCHED unbound ")]


def test_binding_it_again_brings_its_chip_back(run):
    boot = sd.by_device(sd.surveys(run["lines"], "boot"))
    vdev = boot[sd.UNBIND.name]["vdev"]
    assert "MD-BIND %s rc=0" % vdev in run["lines"]
    rebound = sd.by_device(sd.surveys(run["lines"], "rebound"))
    assert sorted(rebound) == sorted(boot)
    for d in sd.DEVICES:
        chip = rebound[d.name]
        assert (chip["vdev"], chip["label"], chip["lines"], chip["names"]) \
            == (boot[d.name]["vdev"], boot[d.name]["label"],
                boot[d.name]["lines"], d.names)
    # The device kept the level its line was driven to before the unbind.
    assert rebound[sd.UNBIND.name]["values"] == sd.UNBIND.values(driven=1)
    assert model_values(run, "rebound-driven") == {
        d.name: d.values(driven=0) for d in sd.DEVICES}
    assert edges(run, "rebound") == expected_edges(sd.DEVICES)
    assert ["MD-WATCHED rebound %s rc=0" % d.first for d in sd.DEVICES] == [
        l for l in run["lines"] if l.startswith("MD-WATCHED rebound ")]
    assert "MD-DONE" in run["lines"]


def test_kernel_log_is_clean(run):
    assert run["panic"] is None and not run["timed_out"]
    assert kernel_problems(run) == []
    assert [l for l in sd.dmesg(run["lines"])
            if "shared with multiple gpiochips" in l] == []


def test_the_user_guide_says_it_passes(run):
    assert user_guide_says(run).startswith("passes every check")



def test_linux_old_driver_reads_and_drives_every_chip(shared_run):
    # Values take no interrupt: every chip is right until the first edge
    # request.
    boot = sd.by_device(sd.surveys(shared_run["lines"], "boot"))
    assert {name: (c["names"], c["values"]) for name, c in boot.items()} \
        == {d.name: (d.names, d.values()) for d in sd.DEVICES}
    assert model_values(shared_run, "driven") == {
        d.name: d.values(driven=1) for d in sd.DEVICES}


def test_linux_old_driver_hooks_its_shared_irq_chip_for_one_chip(shared_run):
    # gpiolib hooks the one static irq_chip for the first chip; each later
    # probe finds it hooked already and leaves its own hooks NULL.
    boot = sd.by_device(sd.surveys(shared_run["lines"], "boot"))
    log = shared_run["lines"]
    shared = [l for l in log if "detected irqchip that is shared with "
              "multiple gpiochips: please fix the driver." in l]
    assert [re.search(r"\((virtio\d+)\)", l).group(1) for l in shared] == [
        boot[d.name]["vdev"] for d in sd.DEVICES[1:]], shared


def test_linux_old_driver_oopses_at_another_chips_first_interrupt(shared_run):
    lines = shared_run["lines"]
    if shared_run["platform"] == "qemu":
        # One oops per later chip: irq_enable() calls the NULL hook
        # (RIP 0) from the watcher's line request; the first chip's edges
        # still come, and the run stops (the dead tasks hold irq locks).
        log = sd.dmesg(lines)
        oopses = [n for n, l in enumerate(log) if sd.OOPS.search(l)]
        assert len(oopses) == len(sd.DEVICES) - 1, log
        assert len([l for l in log if l.endswith(
            "BUG: kernel NULL pointer dereference, address: "
            "0000000000000000")]) == len(oopses)
        for start in oopses:
            trace = log[start:start + 40]
            assert any(l.endswith("RIP: 0010:0x0") for l in trace), trace
            assert any(" irq_enable+" in l for l in trace), trace
            assert any(" edge_detector_setup+" in l for l in trace), trace
        assert [l for l in lines if l.startswith("MD-WATCHED all ")] == [
            "MD-WATCHED all %s rc=0" % sd.DEVICES[0].first] + [
            "MD-WATCHED all %s oops" % d.first for d in sd.DEVICES[1:]]
        assert edges(shared_run, "all") == expected_edges(sd.DEVICES[:1])
        assert "MD-OOPSED watch-all" in lines
    else:
        # UML panics at a kernel-mode fault: the guest ends there.
        assert shared_run["panic"].endswith(
            "Kernel panic - not syncing: Kernel mode fault at addr 0x0, "
            "ip 0x0")
        start = next(n for n, l in enumerate(lines) if sd.PANIC in l)
        trace = lines[start:]
        assert any("gpiochip_irq_enable+" in l for l in trace), trace
        assert any("edge_detector_setup+" in l for l in trace), trace
        assert any(re.search(r"Comm: gpio-probe ", l) for l in trace), trace
    assert "MD-UNBIND" not in " ".join(lines)


def test_the_user_guide_says_what_it_does(shared_run):
    said = user_guide_says(shared_run)
    assert ("oopses" if shared_run["platform"] == "qemu" else "panics") \
        in said, said


#: what Linux's gpio-virtio of 6.1 and 6.12 warns when it arms an eventq
#: buffer for a line its irq_chip never enabled (gpio-virtio.c's
#: virtio_gpio_irq_prepare(): WARN_ON(... || irq_line->disabled))
PREPARE_WARNING = re.compile(r"WARNING: CPU: \d+ (UID: \d+ )?PID: \d+ at "
                             r"\S+/gpio-virtio\.c:\d+ "
                             r"virtio_gpio_irq_prepare\+")


def test_linux_old_driver_unbinding_a_later_chip_silences_the_others(
        unbind_first_run):
    # Unbinding the second chip gives the shared irq_chip back the hooks
    # that chip saved, which are NULL: irq_enable is gone, so the virtio
    # callback that enables a line never runs. The first and the third
    # chip still read and drive, but their edges are lost, with a warning
    # per line requested.
    run = unbind_first_run
    lines = run["lines"]
    boot = sd.by_device(sd.surveys(lines, "boot"))
    assert "MD-UNBIND %s rc=0" % boot[sd.UNBIND.name]["vdev"] in lines
    others = [d for d in sd.DEVICES if d is not sd.UNBIND]
    assert model_values(run, "others-driven") == dict(
        {d.name: d.values(driven=0) for d in others},
        **{sd.UNBIND.name: sd.UNBIND.values(driven=1)})
    assert edges(run, "unbound") == [(d.name, 1, []) for d in others]
    assert [l for l in lines if l.startswith("MD-WATCHED unbound ")] == [
        "MD-WATCHED unbound %s lost" % d.first for d in others]
    warnings = [l for l in sd.dmesg(lines) if PREPARE_WARNING.search(l)]
    # One per line requested after the unbind, one more after the bind.
    assert len(warnings) == len(others) + 1, warnings
    assert [l for l in sd.dmesg(lines) if sd.OOPS.search(l)] == []


def test_linux_old_driver_binding_it_again_leaves_every_chip_silent(
        unbind_first_run):
    # Bound again, the second chip hooks mask and unmask (enable is still
    # NULL): its own line warns as above, the others' unmask hooks are
    # NULL and do nothing. Every chip reads, none fires.
    lines = unbind_first_run["lines"]
    assert "MD-BIND %s rc=0" % sd.by_device(sd.surveys(lines, "boot"))[
        sd.UNBIND.name]["vdev"] in lines
    rebound = sd.by_device(sd.surveys(lines, "rebound"))
    assert {name: c["names"] for name, c in rebound.items()} == {
        d.name: d.names for d in sd.DEVICES}
    assert edges(unbind_first_run, "rebound") == [
        (d.name, 1, []) for d in sd.DEVICES]
    assert [l for l in lines if l.startswith("MD-WATCHED rebound ")] == [
        "MD-WATCHED rebound %s lost" % d.first for d in sd.DEVICES]
    assert "MD-DONE" in lines


def test_the_user_guide_says_what_unbinding_does(unbind_first_run):
    said = user_guide_says(unbind_first_run)
    assert "unbinding" in said and "lost" in said, said
