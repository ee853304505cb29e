"""User-Mode Linux guest for the end-to-end tests.

Builds a UML kernel from Debian's linux-source-6.1 (ARCH=um) with
virtio_uml, gpiolib and the GPIO character device, and vgpio.ko against
it. Both are cached under a directory keyed by the source package version
and the config fragment, and rebuilt when either changes. The guest boots
with the host's filesystem as root (hostfs), so host tools such as
libgpiod's run inside it.
"""

import hashlib
import os
import shutil
import subprocess

from .console import ConsoleGuest

# What the guest needs on top of ARCH=um defconfig. GPIO_VIRTIO=m (the
# upstream driver for device ID 41) is there only because it selects
# GPIOLIB_IRQCHIP, which an out-of-tree module cannot select itself.
# UML_PCI_OVER_VIRTIO is there only for the PCI_MSI it selects: without it
# UML has NR_IRQS = 64, all claimed by init_IRQ(), so an irq domain (the
# gpiochip's) cannot map a single interrupt and edge requests fail with
# ENXIO; with it NR_IRQS = 128. Its device ID is one nothing will offer
# (the default, -1, makes its init print a WARNING at every boot).
CONFIG_FRAGMENT = """\
CONFIG_UML_PCI_OVER_VIRTIO=y
CONFIG_UML_PCI_OVER_VIRTIO_DEVICE_ID=65535
CONFIG_PCI_MSI=y
CONFIG_MODULES=y
CONFIG_MODULE_UNLOAD=y
CONFIG_VIRTIO_UML=y
CONFIG_GPIOLIB=y
CONFIG_GPIO_CDEV=y
CONFIG_GPIO_CDEV_V1=y
CONFIG_GPIO_VIRTIO=m
CONFIG_HOSTFS=y
CONFIG_DEVTMPFS=y
CONFIG_DEVTMPFS_MOUNT=y
CONFIG_DETECT_HUNG_TASK=y
CONFIG_DEFAULT_HUNG_TASK_TIMEOUT=20
CONFIG_PRINTK_TIME=y
"""

REQUIRED = [line.split("=")[0][len("CONFIG_"):]
            for line in CONFIG_FRAGMENT.splitlines() if line.endswith("=y")]


def cache_root():
    """Where builds are kept across checkouts: VGPIO_CACHE_DIR or ~/.cache."""
    return os.environ.get("VGPIO_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "virtio-gpio")


def source_version():
    return subprocess.run(["dpkg-query", "-W", "-f=${Version}",
                           "linux-source-6.1"], check=True,
                          capture_output=True, text=True).stdout.strip()


def cache_key():
    digest = hashlib.sha256((source_version() + "\n" + CONFIG_FRAGMENT)
                            .encode()).hexdigest()[:16]
    return "uml-6.1-%s" % digest


def _make(args, log, **kwargs):
    with open(log, "a") as f:
        subprocess.run(["make"] + args, check=True, stdout=f,
                       stderr=subprocess.STDOUT, **kwargs)


def build_kernel(source, cache=None, jobs=None):
    """Return the UML build directory (with ``linux``), building if needed.

    ``source`` must itself live in the cache (tools/linux-source puts it
    there): the build directory refers to it by absolute path.
    """
    out = os.path.join(os.path.abspath(cache or cache_root()), cache_key())
    binary = os.path.join(out, "linux")
    stamp = os.path.join(out, ".complete")
    if os.path.isfile(stamp) and os.path.isfile(binary):
        return out
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    log = os.path.join(out, "build.log")
    jobs = str(jobs or os.cpu_count() or 2)
    common = ["-C", source, "O=" + out, "ARCH=um"]
    _make(common + ["defconfig"], log)
    with open(os.path.join(out, ".config"), "a") as f:
        f.write(CONFIG_FRAGMENT)
    _make(common + ["olddefconfig"], log)
    with open(os.path.join(out, ".config")) as f:
        config = f.read()
    missing = [name for name in REQUIRED if "CONFIG_%s=y" % name not in config]
    if missing:
        raise RuntimeError("UML config lacks %s (see %s)" % (missing, log))
    _make(common + ["-j", jobs, "linux", "modules_prepare"], log)
    with open(stamp, "w") as f:
        f.write(cache_key() + "\n")
    # Builds for an older source package or config are dead weight now.
    parent = os.path.dirname(out)
    for name in os.listdir(parent):
        if name.startswith("uml-") and name != os.path.basename(out):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
    return out


def build_module(kernel_out, src, log=None):
    """Build vgpio.ko from ``src`` (a copy of kernel/) for the UML kernel."""
    log = log or os.path.join(src, "build.log")
    _make(["-C", kernel_out, "ARCH=um", "M=" + os.path.abspath(src),
           "W=1", "modules"], log)
    return os.path.join(src, "vgpio.ko")


class Guest(ConsoleGuest):
    """A running UML guest whose console output is read line by line.

    :param kernel_out: directory holding the UML ``linux`` binary
    :param init: host path of the guest's init script (run as PID 1)
    :param devices: vhost-user sockets, each attached as device ID 30
    """

    def __init__(self, kernel_out, init, devices, memory="384M", log_path=None):
        cmd = [os.path.join(kernel_out, "linux"), "mem=" + memory,
               "rootfstype=hostfs", "rootflags=/", "rw", "init=" + init,
               "con=null", "con0=null,fd:1", "ssl=null"]
        cmd += ["virtio_uml.device=%s:30" % sock for sock in devices]
        super().__init__(cmd, log_path)
