"""Load vgpio.ko into Debian's own 6.1 kernel under QEMU, 50 times.

No device is attached: this proves the module links against the real
kernel's symbol versions, registers as a virtio driver and unloads
cleanly. Driving a live device is the end-to-end tests' job.
"""

import re
import time

import pytest

from virtio_gpio import qemu

pytestmark = pytest.mark.system

CYCLES = 50
# Case matters: "report a bug" in an ACPI notice is not a BUG: line.
BAD_LOG = re.compile(r"BUG|WARNING|Oops|refcount|list_del|Call Trace|"
                     r"general protection|Kernel panic|Unknown symbol")

INIT = """#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
%(insmod_deps)s
i=0
while [ $i -lt %(cycles)d ]; do
    insmod /lib/vgpio.ko || { echo "VGPIO-FAIL insmod $i"; break; }
    [ -d /sys/bus/virtio/drivers/vgpio ] || { echo "VGPIO-FAIL unregistered $i"; break; }
    grep -q "^vgpio " /proc/modules || { echo "VGPIO-FAIL not in /proc/modules"; break; }
    rmmod vgpio || { echo "VGPIO-FAIL rmmod $i"; break; }
    [ -d /sys/bus/virtio/drivers/vgpio ] && { echo "VGPIO-FAIL still registered $i"; break; }
    i=$((i + 1))
done
echo "VGPIO-CYCLES $i"
echo "VGPIO-DMESG-BEGIN"
dmesg
echo "VGPIO-DMESG-END"
poweroff -f
"""


@pytest.fixture(scope="module")
def boot_log(module_build, debian_headers, tmp_path_factory, timings):
    assert module_build.returncode == 0, module_build.log
    release = debian_headers[1]
    initrd = str(tmp_path_factory.mktemp("qemu") / "initramfs.cpio.gz")
    deps = qemu.load_order(["virtio"], release)
    files = {"/lib/%s.ko" % name: path for name, path in deps}
    files["/lib/vgpio.ko"] = module_build.ko
    script = INIT % {
        "cycles": CYCLES,
        "insmod_deps": "\n".join("insmod /lib/%s.ko || echo VGPIO-FAIL dep %s"
                                  % (name, name) for name, _ in deps),
    }
    qemu.build_initramfs(initrd, script, files)
    start = time.monotonic()
    log = qemu.run("/boot/vmlinuz-%s" % release, initrd, timeout=600)
    timings.append("QEMU (TCG) boot of Debian's kernel + %d load/unload "
                   "cycles: %.1f s" % (CYCLES, time.monotonic() - start))
    return log


def test_module_loads_and_unloads_50_times(boot_log):
    assert "VGPIO-FAIL" not in boot_log, boot_log[-3000:]
    assert "VGPIO-CYCLES %d" % CYCLES in boot_log, boot_log[-3000:]


def test_kernel_log_is_clean(boot_log):
    start = boot_log.index("VGPIO-DMESG-BEGIN")
    end = boot_log.index("VGPIO-DMESG-END")
    dmesg = boot_log[start:end].splitlines()
    assert any("vgpio" in line for line in dmesg)  # the taint notice at least
    assert [line for line in dmesg if BAD_LOG.search(line)] == []
