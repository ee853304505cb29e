"""Build the two guest drivers compared end to end: ours and Linux's.

``ours`` is vgpio.ko from ``kernel/``; ``upstream`` is Linux's own
drivers/gpio/gpio-virtio.c from a Debian linux-source tree, built out of
tree (Debian's 6.1 and 6.12 kernels have CONFIG_GPIO_VIRTIO unset). Give
it the tree of the same series as the kernel it is built for: the driver
follows the kernel's internal API. Both are built from a private copy,
for Debian's headers or for the UML kernel, so a test or the benchmark
never writes into the source tree.
"""

import os
import shutil
import subprocess

#: driver name -> the module file it builds
MODULES = {"ours": "vgpio.ko", "upstream": "gpio-virtio.ko"}
#: driver name -> the name rmmod and /sys/module know it by
MODULE_NAMES = {"ours": "vgpio", "upstream": "gpio_virtio"}


class BuildError(RuntimeError):
    """A module did not build; the message carries the build log."""


def copy_kernel_sources(kernel_src, dest):
    """A private copy of this project's kernel/ at ``dest``, without build
    products, so that nothing is ever built inside the checkout."""
    shutil.copytree(kernel_src, dest, ignore=shutil.ignore_patterns(
        "*.o", "*.ko", "*.mod*", ".*.cmd", "modules.order",
        "Module.symvers"))
    return dest


def _make(kdir, src, arch=None, flags=()):
    cmd = ["make", "-C", kdir, "M=" + os.path.abspath(src)] + list(flags)
    if arch:
        cmd.append("ARCH=" + arch)
    proc = subprocess.run(cmd + ["modules"],
                          capture_output=True, text=True)
    if proc.returncode:
        raise BuildError("building in %s failed:\n%s%s"
                         % (src, proc.stdout, proc.stderr))


def build(driver, kdir, workdir, kernel_src=None, linux_source=None,
          arch=None):
    """Build ``driver`` ("ours" or "upstream") against ``kdir``.

    :param workdir: a directory for the private copy
    :param kernel_src: this project's kernel/ directory (for "ours")
    :param linux_source: the unpacked linux-source tree (for "upstream")
    :param arch: "um" for the UML kernel, None for the host's
    :returns: path of the .ko
    """
    src = os.path.join(workdir, driver)
    if driver == "ours":
        if not kernel_src:
            raise ValueError("our driver needs kernel_src")
        copy_kernel_sources(kernel_src, src)
    elif driver == "upstream":
        if not linux_source:
            raise ValueError("the upstream driver needs linux_source")
        os.makedirs(src)
        shutil.copy(os.path.join(linux_source, "drivers", "gpio",
                                 "gpio-virtio.c"), src)
        with open(os.path.join(src, "Kbuild"), "w") as f:
            f.write("obj-m := gpio-virtio.o\n")
    else:
        raise ValueError("driver must be one of %s" % sorted(MODULES))
    # Ours with W=1, as its build gates have it; Linux's as Linux builds it.
    _make(kdir, src, arch, ["W=1"] if driver == "ours" else [])
    return os.path.join(src, MODULES[driver])


def build_one_file(source, kdir, workdir, arch=None):
    """A module of one C file ``source`` (a test's helper inside the
    guest), built with W=1 against ``kdir`` from a copy in ``workdir``;
    returns the path of its .ko."""
    name = os.path.splitext(os.path.basename(source))[0]
    src = os.path.join(workdir, name)
    os.makedirs(src)
    shutil.copy(source, src)
    with open(os.path.join(src, "Kbuild"), "w") as f:
        f.write("obj-m := %s.o\n" % name)
    _make(kdir, src, arch, ["W=1"])
    return os.path.join(src, name + ".ko")


def build_gpio_probe(source, path, static=False):
    """Compile the guest program tools/guest/gpio-probe.c (``source``) to
    ``path``; static for a busybox initramfs."""
    subprocess.run(["gcc", "-O2", "-Wall", "-Werror", "-o", path, source]
                   + (["-static"] if static else []), check=True)
    return path
