"""Unbind against an in-kernel caller in gpiolib's unguarded window.

Before 6.9, gpiolib takes a line's chip pointer, checks it, and calls the
chip's operation with nothing held; gpiochip_remove() does not wait for a
caller between the two. On an SMP or preemptible kernel an unbind can
run in that gap, and the call then lands in the driver's freed memory.
UML is neither, so tests/guest/unbind-window-consumer.c makes the gap
wide: it takes and checks the chip pointer as gpiolib does, sleeps, then
calls get(). tests/guest/unbind-window-init.sh unbinds the device during
that sleep, on a debug UML 6.1 kernel (KASAN, lockdep, kmemleak).

Expected: the late call finds no device and fails with -ENODEV, KASAN
reports nothing, and the device, bound again, works.
"""

import os

import pytest

from e2e_helpers import (GUEST, KMEMLEAK_OWN, Backend, dmesg_block,
                         guest_session, render_init, uml_module)
from virtio_gpio.guests import drivers, qemu, uml

CONSUMER = os.path.join(GUEST, "unbind-window-consumer.c")
#: -ENODEV
ENODEV = -19


@pytest.fixture(scope="module")
def run(uml_build, tmp_path_factory, timings):
    uml_kernel, _ = uml_build("6.1", debug=True)
    work = str(tmp_path_factory.mktemp("unbind-window"))
    uml_module(uml_kernel, work)
    os.replace(drivers.build_one_file(CONSUMER, uml_kernel, work, arch="um"),
               os.path.join(work, "unbind-window-consumer.ko"))
    backend = Backend(work, "std", "--protocol", "standard", "--lines", "4")
    # Read by the device bound again, at the end.
    backend(cmd="set_input", line=1, level=1)
    guest = uml.Guest(uml_kernel, render_init("unbind-window-init.sh", work),
                      [backend.sock], device_id=41, memory="256M",
                      log_path=os.path.join(work, "guest.log"))
    with guest_session(guest, backend):
        guest.expect("UW-DMESG-END", timeout=300)
        guest.wait(60)
    with open(os.path.join(uml_kernel, ".config")) as f:
        kasan = "CONFIG_KASAN=y\n" in f.read()
    return {"lines": guest.lines, "dmesg": dmesg_block(guest.lines, "UW"),
            "kasan": kasan}


def test_the_unbind_falls_in_the_window(run):
    assert "UW-CONSUMER rc=0" in run["lines"], run["lines"]
    assert "UW-UNBIND rc=0" in run["lines"]
    opened = [l for l in run["dmesg"] if "WINDOW-OPEN" in l]
    unbound = [l for l in run["dmesg"] if "REMOVING GPIOCHIP" in l]
    assert opened and unbound, run["dmesg"]


def test_the_late_call_finds_no_device(run):
    assert "UW-WINDOW-GET %d" % ENODEV in run["lines"], \
        [l for l in run["lines"] if l.startswith("UW-")]


def test_the_debug_kernel_reports_nothing(run):
    # KASAN and lockdep, from our module's load on. Not before: UML 6.1
    # boots with two "suspicious RCU usage" warnings of its own (maple
    # tree walks in its mm code). Not kmemleak: on UML 6.1 it reports live
    # objects of the kernel's own (maple tree nodes, page cache entries)
    # in any run, so its report proves nothing there; leaks are judged on
    # the newest series' debug kernel, by every other debug run.
    assert run["kasan"]
    dmesg = run["dmesg"]
    loaded = next(i for i, l in enumerate(dmesg) if "vgpio" in l)
    assert [l for l in qemu.kernel_log_problems(dmesg[loaded:])
            if not KMEMLEAK_OWN.search(l)] == []


def test_the_device_bound_again_works(run):
    assert "UW-CONSUMER-GONE rc=0" in run["lines"]
    assert "UW-BIND rc=0" in run["lines"]
    assert "UW-GET 1" in run["lines"]
