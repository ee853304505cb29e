"""Helpers shared by the kernel-side tests: find headers, build the module."""

import dataclasses
import os
import re
import subprocess

from checkout import ROOT
from virtio_gpio.guests import drivers, kernels
from virtio_gpio.guests.qemu import version_key  # noqa: F401 (used by the tests)

KERNEL_SRC = os.path.join(ROOT, "kernel")


def project_version():
    """The version, from the one place it is written."""
    with open(os.path.join(KERNEL_SRC, "vgpio_version.h")) as f:
        return re.search(r'^#define VGPIO_VERSION "([^"]+)"$', f.read(),
                         re.MULTILINE).group(1)

# Compiler, sparse and modpost diagnostics all contain one of these words.
DIAGNOSTIC = re.compile(r"\b(warning|error)\b", re.IGNORECASE)
# What a kernel Makefile prints when it turns C=1 off instead of checking.
CHECKER_OFF = re.compile(r"C=\d specified, but .* not available")


def debian_headers(series="6.1"):
    """Newest installed Debian amd64 headers of ``series``: (dir, release)."""
    return kernels.debian_headers(series)


@dataclasses.dataclass
class Build:
    src: str
    out: str
    log: str
    returncode: int

    @property
    def ko(self):
        return os.path.join(self.out, "vgpio.ko")

    def diagnostics(self):
        return [line for line in self.log.splitlines()
                if DIAGNOSTIC.search(line) or CHECKER_OFF.search(line)]


def copy_sources(dest):
    """A private copy of kernel/ (without build products) at ``dest``."""
    return drivers.copy_kernel_sources(KERNEL_SRC, dest)


def build(src, kdir, *flags):
    """make -C src KDIR=kdir flags; with C=1, a sparse that ``kdir`` accepts.

    The outputs go where kernel/Makefile puts them, outside ``src``: into
    build/module beside it (here named explicitly, as ``make module`` does).
    """
    extra = kernels.check_flags(kdir) if any(
        f.startswith("C=") and f != "C=0" for f in flags) else []
    out = os.path.join(os.path.dirname(os.path.abspath(src)), "build", "module")
    proc = subprocess.run(["make", "-C", src, "KDIR=" + kdir, "OUT=" + out]
                          + list(flags) + extra, capture_output=True, text=True)
    return Build(src, out, proc.stdout + proc.stderr, proc.returncode)


# What Kbuild writes beside the sources it builds in place (dot files:
# .*.cmd, .module-common.o, .tmp_versions/, ...).
BUILD_OUTPUT = re.compile(r"^\.|\.(o|ko|mod|mod\.c|cmd|a|order|symvers|dwo)$")


def tracked_sources(root=ROOT):
    """The files of ``root``/kernel (relative to it) that are sources: what
    git tracks there, so that no build output, ignored or not, is taken for
    one. Outside a git checkout (an unpacked sdist), the files whose names
    are not those of a build's outputs."""
    proc = subprocess.run(["git", "ls-files", "-z", "--", "kernel"],
                          cwd=root, capture_output=True, text=True)
    if proc.returncode == 0 and proc.stdout:
        return sorted(os.path.relpath(p, "kernel")
                      for p in proc.stdout.split("\0") if p)
    src = os.path.join(root, "kernel")
    return sorted(
        os.path.relpath(os.path.join(d, f), src)
        for d, _, files in os.walk(src) for f in files
        if not any(BUILD_OUTPUT.search(part) for part in
                   os.path.relpath(os.path.join(d, f), src).split(os.sep)))
