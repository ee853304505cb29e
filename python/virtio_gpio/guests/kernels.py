"""The kernels vgpio.ko is built for, and where their build trees are.

The single place that knows the supported kernel series:

* ``6.1`` and ``6.12`` - Debian's installed amd64 headers
  (``/usr/src/linux-headers-<series>.*-amd64``, with ``Module.symvers``);
* ``newest`` - the newest Debian linux-source series (found at run time by
  :mod:`virtio_gpio.guests.linux_source`), configured as ``allnoconfig``
  plus :data:`CONFIG_FRAGMENT` and built once into the cache, outside the
  checkout, keyed by series, package version and fragment.

For trees whose sparse check the installed sparse cannot run (C=1 would be
turned off with a note), :func:`check_flags` adds a sparse built from
Debian sid's source package.

Standard library only (and the package's own modules that are): the
Makefile prepares the trees before the C extension is needed.
``python -m virtio_gpio.guests.kernels prepare`` prepares every tree;
``... headers SERIES`` prints one's KDIR, release and extra make arguments.
"""

import argparse
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import time

from .. import progress
from ..cache import cache_root, locked
from . import debian_archive, linux_source

SERIES = ("6.1", "6.12", "newest")

#: The newest tree is configured with everything off but what the driver
#: needs: the virtio bus over PCI (as QEMU offers it), gpiolib, and
#: GPIO_VIRTIO=m for the GPIOLIB_IRQCHIP it selects, which an out-of-tree
#: module cannot select; SMP and printk so that locks and log calls compile
#: as on a distribution kernel. An out-of-tree build needs the tree's
#: Module.symvers, which only a full build writes: from x86_64_defconfig
#: that build took 47 minutes on a busy 2-core machine, from this 7.
CONFIG_FRAGMENT = """\
CONFIG_64BIT=y
CONFIG_SMP=y
CONFIG_PRINTK=y
CONFIG_MODULES=y
CONFIG_MODULE_UNLOAD=y
CONFIG_PCI=y
CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO=y
CONFIG_VIRTIO_PCI=y
CONFIG_GPIOLIB=y
CONFIG_GPIO_CDEV=y
CONFIG_GPIO_VIRTIO=m
"""

#: Prefix of the prepared trees' directory names in the cache.
TREE_PREFIX = "kdir-"


def _check_series(series):
    if series not in SERIES:
        raise ValueError("unsupported kernel series %r (supported: %s)"
                         % (series, ", ".join(SERIES)))


def source(series):
    """Path of the unpacked Debian linux-source tree of ``series``."""
    _check_series(series)
    return linux_source.tree(series)


def source_version(series):
    """(series, package version) of that tree, e.g. ("7.3", "7.3.4-1")."""
    _check_series(series)
    return linux_source.version(series)


def version_key(release):
    """Sort key for kernel releases: numbers numerically, words apart."""
    parts = []
    for chunk in release.replace("-", ".").replace("+", ".").split("."):
        parts.append((0, int(chunk), "") if chunk.isdigit() else (1, 0, chunk))
    return parts


def debian_headers(series):
    """(dir, release) of the newest installed Debian amd64 headers of ``series``."""
    dirs = [d for d in glob.glob("/usr/src/linux-headers-%s.*-amd64" % series)
            if os.path.isfile(os.path.join(d, "Module.symvers"))]
    if not dirs:
        raise RuntimeError("no linux-headers-%s.*-amd64 with a Module.symvers "
                           "is installed" % series)
    best = max(dirs, key=lambda d: version_key(os.path.basename(d)))
    return best, os.path.basename(best)[len("linux-headers-"):]


def tree_key(name, version):
    """Cache directory name of the prepared tree of one source package."""
    digest = hashlib.sha256(("%s\n%s\n%s" % (name, version, CONFIG_FRAGMENT))
                            .encode()).hexdigest()[:16]
    return "%s%s-%s" % (TREE_PREFIX, name, digest)


def _release(out):
    with open(os.path.join(out, "include", "config", "kernel.release")) as f:
        return f.read().strip()


def prepare(cache=None, jobs=None, stream=None):
    """(kdir, release) of the newest series' tree, building it if needed.

    Stages: allnoconfig with the fragment, then ``vmlinux modules``:
    modules_prepare alone leaves no Module.symvers, and without it modpost
    fails every out-of-tree module on unresolved symbols. Trees of an older package, series or fragment are removed.
    """
    root = os.path.abspath(cache or cache_root())
    with locked(root, "kdir"):
        return _prepare(root, jobs or os.cpu_count() or 2, stream)


def _prepare(root, jobs, stream):
    name, version = source_version("newest")
    src = source("newest")
    out = os.path.join(root, tree_key(name, version))
    stamp = os.path.join(out, ".complete")
    if os.path.isfile(stamp) and os.path.isfile(os.path.join(out, "Module.symvers")):
        return out, _release(out)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    log = os.path.join(out, "build.log")
    make = ["make", "-C", src, "O=" + out]
    what = "linux-source-%s %s" % (name, version)
    fragment = os.path.join(out, "fragment.config")
    with open(fragment, "w") as f:
        f.write(CONFIG_FRAGMENT)
    progress.run(make + ["KCONFIG_ALLCONFIG=" + fragment, "allnoconfig"],
                 log, "%s: allnoconfig + fragment" % what, stream)
    with open(os.path.join(out, ".config")) as f:
        config = set(f.read().splitlines())
    missing = [line for line in CONFIG_FRAGMENT.splitlines()
               if line not in config]
    if missing:
        raise progress.BuildFailed("%s: allnoconfig dropped %s (log %s)"
                                   % (what, ", ".join(missing), log))
    progress.run(make + ["-j%d" % jobs, "vmlinux", "modules"], log,
                 "%s: vmlinux and modules (for Module.symvers)" % what, stream)
    with open(stamp, "w") as f:
        f.write("%s %s\n%s" % (name, version, CONFIG_FRAGMENT))
    for stale in glob.glob(os.path.join(root, TREE_PREFIX + "*")):
        if stale != out:
            shutil.rmtree(stale, ignore_errors=True)
    return out, _release(out)


def headers(series, stream=None):
    """(kdir, release) to build vgpio.ko against for ``series``.

    :param stream: where the progress lines of a preparation go
    """
    _check_series(series)
    if series == "newest":
        return prepare(stream=stream)
    return debian_headers(series)


def _sparse_source_version(state):
    """Version of sid's sparse source package, looked up at most once a day."""
    found = os.path.join(state, "found")
    try:
        fresh = time.time() - os.path.getmtime(found) < 86400
    except OSError:
        fresh = False
    if not fresh:
        debian_archive.write_private_sources(state, [("deb-src", "sid")])
        opts = debian_archive.private_apt_options(state)
        update = subprocess.run(["apt-get"] + opts + ["-qq", "update"],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        if update.returncode == 0:
            out = subprocess.run(["apt-cache"] + opts + ["showsrc", "sparse"],
                                 check=True, stdout=subprocess.PIPE,
                                 text=True).stdout
            versions = [line.split(":", 1)[1].strip()
                        for line in out.splitlines()
                        if line.startswith("Version:")]
            if not versions:
                raise RuntimeError("sid carries no sparse source package")
            with open(found + ".new", "w") as f:
                f.write(max(versions, key=version_key) + "\n")
            os.replace(found + ".new", found)
        elif not os.path.isfile(found):
            raise RuntimeError("cannot reach sid for sparse's source:\n"
                               + update.stdout)
    with open(found) as f:
        return f.read().strip()


def sparse(cache=None, stream=None):
    """Path of a sparse built from Debian sid's source package, in the cache.

    Kernels since 6.14 use __typeof_unqual__, which bookworm's sparse 0.6.4
    does not parse; their Makefile then turns C=1 off with a note instead
    of checking. Built from the upstream tarball alone: Debian's patches
    only tie the package to sid's compiler.
    """
    root = os.path.abspath(cache or cache_root())
    with locked(root, "sparse"):
        return _sparse(root, stream)


def _sparse(root, stream):
    state = os.path.join(root, "apt-sparse")
    version = _sparse_source_version(state)
    out = os.path.join(root, "sparse-" + version.replace("~", "_"))
    binary = os.path.join(out, "sparse")
    if os.path.isfile(os.path.join(out, ".complete")):
        return binary
    shutil.rmtree(out, ignore_errors=True)
    download = os.path.join(out, "download")
    os.makedirs(download)
    log = os.path.join(out, "build.log")
    progress.run(["apt-get"] + debian_archive.private_apt_options(state) +
                 ["-qq", "--download-only", "source", "sparse=" + version],
                 log, "sparse %s: download" % version, stream, cwd=download)
    tarball = glob.glob(os.path.join(download, "sparse_*.orig.tar.*"))
    if len(tarball) != 1:
        raise progress.BuildFailed("sparse %s: expected one orig tarball in "
                                   "%s, found %s" % (version, download, tarball))
    progress.run(["tar", "-C", out, "-xf", tarball[0]], log,
                 "sparse %s: unpack" % version, stream)
    tree = [d for d in glob.glob(os.path.join(out, "sparse*"))
            if os.path.isdir(d)]
    progress.run(["make", "-C", tree[0], "-j2", "sparse"], log,
                 "sparse %s: build" % version, stream)
    shutil.copy2(os.path.join(tree[0], "sparse"), binary)
    with open(os.path.join(out, ".complete"), "w") as f:
        f.write(version + "\n")
    for stale in glob.glob(os.path.join(root, "sparse-*")):
        if stale != out:
            shutil.rmtree(stale, ignore_errors=True)
    return binary


def check_flags(kdir):
    """Extra make arguments so that C=1 really runs sparse against ``kdir``.

    A tree with scripts/checker-valid.sh (6.14 and later) tests the
    checker first; when the installed sparse fails that test, the one
    from :func:`sparse` is used.
    """
    link = os.path.join(kdir, "source")
    srctree = os.path.realpath(link) if os.path.islink(link) else kdir
    valid = os.path.join(srctree, "scripts", "checker-valid.sh")
    if not os.path.isfile(valid):
        return []
    probe = ["sh", valid, "sparse", "--arch=x86", "-mlittle-endian", "-m64"]
    if subprocess.run(probe, stdout=subprocess.PIPE,
                      text=True).stdout.strip() == "1":
        return []
    return ["CHECK=" + sparse()]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m virtio_gpio.guests.kernels",
                                     description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare", help="prepare the build tree of every series")
    one = sub.add_parser("headers", help="print KDIR, release and extra make "
                         "arguments (CHECK=...) of a series")
    one.add_argument("series", choices=SERIES)
    args = parser.parse_args(argv)
    if args.command == "headers":
        kdir, release = headers(args.series)
        print(" ".join([kdir, release] + check_flags(kdir)))
        return 0
    for series in SERIES:
        kdir, release = headers(series)
        extra = " ".join(check_flags(kdir))
        progress.say("kernel %s: %s (KDIR=%s%s)" % (series, release, kdir,
                                                    " " + extra if extra else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
