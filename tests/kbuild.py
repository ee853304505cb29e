"""Helpers shared by the kernel-side tests: find headers, build the module."""

import dataclasses
import glob
import os
import re
import shutil
import subprocess

from virtio_gpio.qemu import version_key

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL_SRC = os.path.join(ROOT, "kernel")
# Compiler, sparse and modpost diagnostics all contain one of these words.
DIAGNOSTIC = re.compile(r"\b(warning|error)\b", re.IGNORECASE)


def debian_headers(series="6.1"):
    """Newest installed Debian amd64 headers of ``series``: (dir, release)."""
    dirs = [d for d in glob.glob("/usr/src/linux-headers-%s.*-amd64" % series)
            if os.path.isfile(os.path.join(d, "Module.symvers"))]
    assert dirs, "linux-headers-amd64 (%s) is not installed" % series
    best = sorted(dirs, key=lambda d: version_key(os.path.basename(d)))[-1]
    return best, os.path.basename(best)[len("linux-headers-"):]


@dataclasses.dataclass
class Build:
    src: str
    log: str
    returncode: int

    @property
    def ko(self):
        return os.path.join(self.src, "vgpio.ko")

    def diagnostics(self):
        return [line for line in self.log.splitlines() if DIAGNOSTIC.search(line)]


def copy_sources(dest):
    """A private copy of kernel/ (without build products) at ``dest``."""
    shutil.copytree(KERNEL_SRC, dest, ignore=shutil.ignore_patterns(
        "*.o", "*.ko", "*.mod*", ".*.cmd", "modules.order", "Module.symvers"))
    return dest


def build(src, kdir, *flags):
    proc = subprocess.run(["make", "-C", src, "KDIR=" + kdir] + list(flags),
                          capture_output=True, text=True)
    return Build(src, proc.stdout + proc.stderr, proc.returncode)
