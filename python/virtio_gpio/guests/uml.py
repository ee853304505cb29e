"""User-Mode Linux guests for the end-to-end tests and the bench.

Builds a UML kernel (ARCH=um) from an unpacked Debian linux-source tree
of any series (tools/linux-source 6.1, tools/linux-source newest) with
virtio_uml, gpiolib and the GPIO character device, and modules against it.
A series may need build-time patches, kept in the checkout as
``tools/uml-patches/<series>/*.patch``: they are applied to a private copy of
the tree (hard links, the patched files copied first), so the shared
unpacked tree is never changed, let alone half-patched. Each build is
cached under a directory keyed by series, source package version, config
fragment and patch content, and rebuilt when any of them changes. The
guest boots with the host's filesystem as root (hostfs), so host tools
such as libgpiod's run inside it.
"""

import argparse
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys

from .. import progress
from ..cache import cache_root, locked
from .console import ConsoleGuest

# What the guest needs on top of ARCH=um defconfig. GPIO_VIRTIO=m (the
# upstream driver for device ID 41) is there only because it selects
# GPIOLIB_IRQCHIP, which an out-of-tree module cannot select itself.
# UML_PCI_OVER_VIRTIO is there only for the PCI_MSI it selects: without it
# UML has NR_IRQS = 64, all claimed by init_IRQ(), so an irq domain (the
# gpiochip's) cannot map a single interrupt and edge requests fail with
# ENXIO; with it NR_IRQS = 128. Its device ID is one nothing will offer
# (the default, -1, makes its init print a WARNING at every boot).
# In 6.1 UML_PCI_OVER_VIRTIO selects PCI_MSI itself; since 6.16 it selects
# the hidden UML_PCI, which selects PCI_MSI (arch/um/drivers/Kconfig), and
# NR_IRQS still hangs on CONFIG_PCI_MSI (arch/um/include/asm/irq.h): the
# same lines serve both, and PCI_MSI is checked after olddefconfig.
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

#: series -> lines added to CONFIG_FRAGMENT for that series only
SERIES_FRAGMENT = {}

# A debug UML kernel: the end-to-end runs on it see what a plain kernel
# does not print. Lock order and wait contexts (lockdep, with PREEMPT_RT's
# nesting rules: no sleeping lock inside a raw spinlock), sleeping in
# atomic context, objects freed while still in use (timers, work),
# out-of-bounds and use-after-free accesses (KASAN, which UML supports on
# x86_64; with vmalloc shadow, since without it a module loaded again
# after rmmod drew a false global-out-of-bounds report in load_module),
# and leaks, which the guest scans for with kmemleak before it stops.
# Fault injection (failslab, fail_page_alloc, with the stack filter that
# confines it to our module's calls) is built in for the runs that use it.
DEBUG_FRAGMENT = """\
CONFIG_DEBUG_KERNEL=y
CONFIG_PROVE_LOCKING=y
CONFIG_PROVE_RAW_LOCK_NESTING=y
CONFIG_DEBUG_ATOMIC_SLEEP=y
CONFIG_DEBUG_OBJECTS=y
CONFIG_DEBUG_OBJECTS_TIMERS=y
CONFIG_DEBUG_OBJECTS_WORK=y
CONFIG_KASAN=y
CONFIG_KASAN_VMALLOC=y
CONFIG_DEBUG_FS=y
CONFIG_DEBUG_KMEMLEAK=y
CONFIG_DEBUG_KMEMLEAK_AUTO_SCAN=n
CONFIG_FAULT_INJECTION=y
CONFIG_FAILSLAB=y
CONFIG_FAIL_PAGE_ALLOC=y
CONFIG_FAULT_INJECTION_DEBUG_FS=y
CONFIG_FAULT_INJECTION_STACKTRACE_FILTER=y
"""

#: the series whose end-to-end UML kernel stays as close to defconfig as
#: it can: the patched 6.1 is what most users' hosts run. Every other
#: series runs end to end on its debug kernel. Benches want plain kernels.
PLAIN_E2E_SERIES = ("6.1",)


def e2e_debug(series):
    """Whether the end-to-end runs of ``series`` use its debug kernel.

    :param series: "6.1", "7.3", ..., or a tools/linux-source argument
        such as "newest" (every series but the plain ones is debug)
    """
    return series not in PLAIN_E2E_SERIES


#: series -> DEBUG_FRAGMENT options its UML cannot have: before 6.12 UML
#: cannot preempt (ARCH_NO_PREEMPT, which DEBUG_ATOMIC_SLEEP excludes),
#: and 6.1 has no fault-injection stack filter on x86_64
DEBUG_UNAVAILABLE = {"6.1": ("DEBUG_ATOMIC_SLEEP",
                             "FAULT_INJECTION_STACKTRACE_FILTER")}


def config_fragment(series, debug):
    """The config lines a UML kernel of ``series`` is built with."""
    debug_lines = [line for line in DEBUG_FRAGMENT.splitlines()
                   if line.split("=")[0][len("CONFIG_"):]
                   not in DEBUG_UNAVAILABLE.get(series, ())]
    return (CONFIG_FRAGMENT + SERIES_FRAGMENT.get(series, "")
            + ("".join(line + "\n" for line in debug_lines) if debug
               else ""))


def required_symbols(series, debug):
    return [line.split("=")[0][len("CONFIG_"):]
            for line in config_fragment(series, debug).splitlines()
            if line.endswith("=y")]


def tree_series(source):
    """"6.1" for a tree unpacked as .../linux-source-6.1 by tools/linux-source."""
    match = re.fullmatch(r"linux-source-(\d+\.\d+)",
                         os.path.basename(os.path.normpath(source)))
    if not match:
        raise ValueError("%s is not a tree unpacked by tools/linux-source"
                         % source)
    return match.group(1)


def source_version(source):
    """The Debian package version the tree was unpacked from."""
    try:
        with open(os.path.join(source, ".unpacked")) as f:
            return f.read().strip()
    except FileNotFoundError:
        return subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}",
             "linux-source-" + tree_series(source)], check=True,
            capture_output=True, text=True).stdout.strip()


def series_patches(patches, series):
    """The sorted .patch files of ``series`` under ``patches`` (may be none)."""
    if not patches:
        return []
    return sorted(glob.glob(os.path.join(patches, series, "*.patch")))


def flavour(series, debug):
    """"7.3" or "7.3-debug": one cache slot per series and flavour."""
    return series + ("-debug" if debug else "")


def cache_key(source, patches=None, debug=False):
    series = tree_series(source)
    digest = hashlib.sha256()
    digest.update((source_version(source) + "\n"
                   + config_fragment(series, debug)).encode())
    for path in series_patches(patches, series):
        with open(path, "rb") as f:
            digest.update(os.path.basename(path).encode() + b"\0" + f.read())
    return "uml-%s-%s" % (flavour(series, debug), digest.hexdigest()[:16])


def _patched_files(patch):
    with open(patch, errors="replace") as f:
        return [line[4:].split("\t")[0].strip().split("/", 1)[1]
                for line in f if line.startswith("+++ ")]


def private_tree(source, dest, patch_files, log):
    """A copy of ``source`` at ``dest`` with ``patch_files`` applied.

    The copy is hard links, except for the files a patch touches, which are
    real copies before ``patch`` writes them. Every patch is dry-run first.
    :raises progress.BuildFailed: when a patch does not apply
    """
    subprocess.run(["cp", "-al", source, dest], check=True)
    for patch in patch_files:
        for name in _patched_files(patch):
            path = os.path.join(dest, name)
            if os.path.exists(path):
                shutil.copy2(path, path + ".unlinked")
                os.replace(path + ".unlinked", path)
        base = ["patch", "-p1", "--forward", "--batch", "-d", dest,
                "-i", os.path.abspath(patch)]
        progress.run(base + ["--dry-run"], log,
                     "check %s applies" % os.path.basename(patch))
        progress.run(base, log, "apply " + os.path.basename(patch))
    return dest


def build_kernel(source, *, patches, debug, cache=None, jobs=2):
    """Return the UML build directory (with ``linux``), building if needed.

    :param source: an unpacked tree from tools/linux-source, which must
        itself live in the cache: the build refers to it by absolute path
    :param patches: the checkout's tools/uml-patches directory; the
        patches of the tree's series (its subdirectory) are applied. No
        default: a cache keeps one build per series, so an unpatched build
        (``None``, asked for by name) replaces a patched one.
    :param debug: build the debug kernel (``DEBUG_FRAGMENT``); the
        plain and the debug build of a series are kept side by side
    :param jobs: make -j (the machines this runs on have 2 cores, shared)
    """
    source = os.path.abspath(source)
    series = tree_series(source)
    cache = os.path.abspath(cache or cache_root())
    os.makedirs(cache, exist_ok=True)
    key = cache_key(source, patches, debug)
    slot = flavour(series, debug)
    top = os.path.join(cache, key)
    out = os.path.join(top, "build")
    stamp = os.path.join(top, ".complete")
    with locked(cache, ".uml-" + slot):
        if all(os.path.isfile(path) for path in (
                stamp, os.path.join(out, "linux"),
                os.path.join(out, "Module.symvers"))):
            return out
        shutil.rmtree(top, ignore_errors=True)
        os.makedirs(out)
        log = os.path.join(top, "build.log")
        patch_files = series_patches(patches, series)
        tree = source
        if patch_files:
            tree = private_tree(source, os.path.join(top, "source"),
                                patch_files, log)
        progress.say("UML %s (%s): building into %s"
                     % (series, source_version(source), top))
        common = ["make", "-C", tree, "O=" + out, "ARCH=um"]
        progress.run(common + ["defconfig"], log, "UML %s defconfig" % series)
        with open(os.path.join(out, ".config"), "a") as f:
            f.write(config_fragment(series, debug))
        progress.run(common + ["olddefconfig"], log,
                     "UML %s olddefconfig" % series)
        with open(os.path.join(out, ".config")) as f:
            config = f.read()
        missing = [name for name in required_symbols(series, debug)
                   if "CONFIG_%s=y" % name not in config]
        if missing:
            raise progress.BuildFailed("UML %s config lacks %s (see %s)"
                                       % (series, missing, log))
        # "modules" too: since 6.2 Module.symvers, which modpost needs to
        # link an out-of-tree module against the kernel, comes only from
        # the modules step (6.1 wrote it when linking the kernel).
        progress.run(common + ["-j", str(jobs), "linux", "modules",
                               "modules_prepare"],
                     log, "UML %s kernel" % series)
        with open(stamp, "w") as f:
            f.write(key + "\n")
        # Builds of this series and flavour for an older package, config
        # or patch set are dead weight now, and so are builds whose source
        # tree tools/linux-source removed (a series no longer the newest).
        for name in os.listdir(cache):
            built = re.match(r"uml-((\d+\.\d+)(?:-debug)?)-[0-9a-f]+$", name)
            if built and name != key and (
                    built.group(1) == slot or not os.path.isdir(
                        os.path.join(os.path.dirname(source),
                                     "linux-source-" + built.group(2)))):
                shutil.rmtree(os.path.join(cache, name), ignore_errors=True)
    return out


class Guest(ConsoleGuest):
    """A running UML guest whose console output is read line by line.

    :param kernel_out: directory holding the UML ``linux`` binary
    :param init: host path of the guest's init script (run as PID 1)
    :param devices: vhost-user sockets, each attached as ``device_id``
    :param device_id: the virtio device ID they are offered as (30: the
        2020 proposal; 41: the virtio 1.2 GPIO device)
    """

    def __init__(self, kernel_out, init, devices, device_id=30,
                 memory="384M", log_path=None):
        cmd = [os.path.join(kernel_out, "linux"), "mem=" + memory,
               "rootfstype=hostfs", "rootflags=/", "rw", "init=" + init,
               "con=null", "con0=null,fd:1", "ssl=null"]
        cmd += ["virtio_uml.device=%s:%d" % (sock, device_id)
                for sock in devices]
        super().__init__(cmd, log_path)

    def where_it_hangs(self):
        """The UML kernel's own backtrace: its kernel is the host process
        started here, so gdb shows where a silent guest is stuck (a hang
        in CI leaves nothing else to go on)."""
        if self.proc.poll() is not None:
            return ""
        # Not with the sanitizer runtimes a test run may preload: gdb
        # hangs under them.
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        try:
            trace = subprocess.run(
                ["gdb", "-batch", "-p", str(self.proc.pid), "-ex", "bt 40"],
                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=60, env=env)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return "\n(no backtrace of the UML kernel: %s)" % exc
        frames = [l for l in trace.stdout.splitlines() if l.startswith("#")]
        return "\nthe UML kernel's backtrace (gdb):\n%s" % "\n".join(
            frames or [trace.stderr.strip()])


def main(argv=None):
    """Build (or find in the cache) the UML kernel of each ``--source``."""
    parser = argparse.ArgumentParser(
        prog="python -m virtio_gpio.guests.uml",
        description="Build the UML kernels of the end-to-end runs into the "
        "cache (the debug kernel of every series, and the plain one of %s), "
        "with a progress line per stage and per minute."
        % ", ".join(PLAIN_E2E_SERIES))
    parser.add_argument("--source", action="append", required=True,
                        help="an unpacked tree from tools/linux-source "
                        "(repeat for several series)")
    parser.add_argument("--patches", required=True,
                        help="the checkout's tools/uml-patches")
    args = parser.parse_args(argv)
    for source in args.source:
        series = tree_series(source)
        # A plain series' debug kernel too: some checks need KASAN on it.
        for debug in sorted({e2e_debug(series), True}):
            out = build_kernel(source, patches=args.patches, debug=debug)
            progress.say("UML %s: %s" % (flavour(series, debug), out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
