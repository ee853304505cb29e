"""Power management end to end: QEMU's vhost-user-gpio-pci, Debian's kernels.

Each guest (Debian 6.1 and 6.12, with our module and with Linux's
gpio-virtio) sleeps four times. A suspend ("mem") and a hibernation
("disk") with /sys/power/pm_test at "core": every device callback of a
real sleep runs (virtio-pci's .suspend and .freeze reset the device,
.resume/.thaw/.restore bring it back), only the platform's own sleep is
left out. A real suspend to RAM, QEMU holding the machine in S3 until
the RTC's alarm wakes it. A real hibernation: the image goes to a swap
disk, the machine powers off, and a second QEMU on a fresh backend (a
device that knows nothing of what the first was told) boots it again,
resuming the image. A line is held as an output and another watched for
edges across all four. After each: a read of a third line (bounded:
Linux's driver waits for a reply that never comes), the held line read
back, and edges the host raises on the watched line.

What each driver does is recorded in the user guide's table
``power-management-results``; the test compares each run with its column,
so a change on either side shows here.
"""

import contextlib
import os
import time

import pytest

import e2e_helpers
from checkout import ROOT
from e2e_helpers import Backend, doc_table, qemu_finish
from virtio_gpio.guests import drivers, kernels, qemu

SERIES = ("6.1", "6.12")
DRIVERS = ("ours", "upstream")
#: the sleeps: a suspend and a hibernation in the PM core's test mode,
#: then a real hibernation, its image written to disk and resumed by a
#: second boot on a fresh device
PHASES = ("SUSPEND", "S3", "HIBERNATION", "IMAGE")
#: how the user guide's table names them
PHASE_NAMES = {"SUSPEND": "suspend", "S3": "suspend to RAM",
               "HIBERNATION": "hibernation", "IMAGE": "hibernation to disk"}
OUT_LINE, EDGE_LINE, IN_LINE = 3, 2, 0
#: host-driven edges per phase, and once before the first
EDGES = 2
#: how long the host waits for each edge in the guest
EDGE_WAIT = 5
USER_GUIDE = os.path.join(ROOT, "Documentation", "user-guide.rst")
TABLE = "power-management-results"
COLUMN = {"ours": "ours", "upstream": "Linux's"}


def drive_edges(guest, backend, level):
    """Raise EDGES edges on the watched line from ``level``; how many
    the guest saw, and the level now. A missing edge ends it: the next
    would be lost as well."""
    seen = 0
    for _ in range(EDGES):
        level = 1 - level
        backend(cmd="set_input", line=EDGE_LINE, level=level)
        try:
            guest.expect("EDGE ", timeout=EDGE_WAIT)
        except TimeoutError:
            break
        seen += 1
    return seen, level


#: the swap disk a real hibernation writes its image to (sparse)
SWAP_SIZE = 256 << 20


def boot(work, name, initrd, release, swap):
    """A backend (standard protocol, exiting with its front end) and a
    QEMU guest on it with the swap disk; both killed when done."""
    backend = Backend(str(work), name, "--protocol", "standard", "--once")
    begin = time.monotonic()
    try:
        guest = qemu.Guest(
            qemu.kernel_image(release), initrd,
            extra_args=qemu.vhost_user_gpio_args(backend.sock) +
            ["-drive", "file=%s,format=raw,if=virtio" % swap],
            log_path=str(work / ("guest-%s.log" % name)), console_input=True)
    except BaseException:
        backend.stop()
        raise
    return backend, guest, begin


@contextlib.contextmanager
def killed_at_exit(items):
    try:
        yield
    finally:
        for guest, backend in items:
            guest.kill()
            backend.stop()


@pytest.fixture(scope="module",
                params=[(s, d) for s in SERIES for d in DRIVERS],
                ids=["%s-%s" % (s, d) for s in SERIES for d in DRIVERS])
def run(request, tmp_path_factory, timings):
    series, driver = request.param
    work = tmp_path_factory.mktemp("pm-%s-%s" % (series, driver))
    result = {"series": series, "driver": driver, "edges": {}}
    kdir, release = kernels.debian_headers(series)
    source = kernels.source(series) if driver == "upstream" else None
    module = drivers.build(driver, kdir, str(work),
                           kernel_src=e2e_helpers.KERNEL_SRC,
                           linux_source=source)
    initrd = e2e_helpers.qemu_initramfs(
        work, release, {"driver.ko": module, "virtio_blk.ko":
                        qemu.module_path("virtio_blk", release)},
        "qemu-pm-init.sh",
        {"OUT_LINE": OUT_LINE, "EDGE_LINE": EDGE_LINE, "IN_LINE": IN_LINE,
         "EDGES": EDGES * (1 + len(PHASES)), "PM_TEST": "core",
         "MODULE": drivers.MODULE_NAMES[driver]})
    swap = work / "swap.img"
    with open(swap, "wb") as f:
        f.truncate(SWAP_SIZE)
    what = "QEMU suspend and hibernations, %s driver (Debian %s)" % (
        driver, release)
    backend, guest, begin = boot(work, "std", initrd, release, swap)
    booted = [(guest, backend)]
    with killed_at_exit(booted):
        guest.expect("EDGES-READY", timeout=300)
        guest.expect("SYNC before", timeout=60)
        result["edges"]["BEFORE"], level = drive_edges(guest, backend, 0)
        guest.send("\n")
        for phase in PHASES[:-1]:
            guest.expect("SYNC edges-" + phase, timeout=120)
            result["edges"][phase], level = drive_edges(guest, backend,
                                                        level)
            guest.send("\n")
        guest.expect("PM-IMAGE-GO", timeout=60)
        first = []
        try:
            guest.expect("PM-IMAGE rc=", timeout=300)
        except TimeoutError:
            # The image is written and the machine off (else this waits
            # and fails): boot it again on a fresh device, and the image
            # goes on from where it was.
            guest.wait(60)
            first = list(guest.lines)
            backend.proc.wait(30)
            backend, guest, _ = boot(work, "std-resumed", initrd, release,
                                     swap)
            booted.append((guest, backend))
            guest.expect("PM-IMAGE rc=", timeout=300)
            # The fresh device's line levels start at 0.
            level = 0
        result["second_boot"] = bool(first)
        guest.expect("SYNC edges-IMAGE", timeout=120)
        result["edges"]["IMAGE"], level = drive_edges(guest, backend, level)
        guest.send("\n")
        qemu_finish(guest, backend, result, "PM")
        result["lines"] = first + result["lines"]
    timings.append("%s: %.1f s" % (what, time.monotonic() - begin))
    return result


def line(run, prefix):
    return next(l for l in run["lines"] if l.startswith(prefix))


def outcomes(run):
    """What the run showed, in the words of the user guide's table."""
    seen = {"before the sleep: edges": "%d of %d" % (run["edges"]["BEFORE"],
                                                     EDGES)}
    for phase in PHASES:
        name = PHASE_NAMES[phase]
        entered = line(run, "PM-%s rc=" % phase).split()[1]
        seen["%s: entered and left" % name] = \
            "yes" if entered == "rc=0" else entered
        get = line(run, "PM-%s-GET " % phase).split(None, 2)[1:]
        seen["%s: read a line" % name] = (
            "hangs" if get[0] == "hung" else "works" if get[0] == "rc=0"
            else "fails: " + get[1])
        held = line(run, "PM-%s-HELD " % phase)
        seen["%s: output read back" % name] = (
            "hangs" if held.endswith("hung") else held.split()[-1])
        seen["%s: edges" % name] = "%d of %d" % (run["edges"][phase], EDGES)
    return seen


def test_the_driver_is_bound_and_both_sleeps_are_offered(run):
    assert "PM-BOUND %s" % drivers.MODULE_NAMES[run["driver"]] in \
        run["lines"], run["lines"][-40:]
    states = line(run, "PM-STATES ")
    assert "mem" in states and "disk" in states and "core" in states, states
    assert "PM-HOLDING line=%d" % OUT_LINE in run["lines"]


def test_what_each_driver_does_is_what_the_user_guide_says(run):
    header, rows = doc_table(USER_GUIDE, TABLE)
    column = "%s (QEMU %s)" % (COLUMN[run["driver"]], run["series"])
    assert column in header, header
    documented = {row[0]: row[header.index(column)] for row in rows}
    assert outcomes(run) == documented


#: what our module must show after each sleep
OURS = {"entered and left": "yes", "read a line": "works",
        "output read back": "value=1", "edges": "%d of %d" % (EDGES, EDGES)}


def test_ours_comes_back_whole_after_each_sleep(run):
    seen = outcomes(run)
    # Linux's driver goes through the first sleep as well; what it does
    # after (and to the second) is the table's.
    assert seen["suspend: entered and left"] == "yes", seen
    if run["driver"] == "ours":
        assert run["second_boot"]
        for phase in PHASES:
            name = PHASE_NAMES[phase]
            assert {key: seen["%s: %s" % (name, key)] for key in OURS} \
                == OURS, seen


def test_the_log_is_clean_but_for_linux_s_hung_requests(run):
    start = run["lines"].index("PM-DMESG-BEGIN")
    dmesg = run["lines"][start:run["lines"].index("PM-DMESG-END")]
    problems = qemu.kernel_log_problems(dmesg)
    assert "PM-FAIL insmod" not in run["lines"]
    if run["driver"] == "ours":
        assert problems == []
        assert [l for l in dmesg if "vgpio virtio" in l and any(
            w in l for w in ("restoring", "failed", "timed out",
                             "dropped device"))] == []
    else:
        # The freezer's report of the tasks Linux's driver left in D
        # state, when the second sleep cannot freeze them: nothing else.
        assert [l for l in problems if not l.endswith("Call Trace:")] == []
        assert not problems or any("refusing to freeze" in l for l in dmesg)
