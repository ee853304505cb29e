"""Unpacked Debian linux-source trees, kept in the build cache.

``python -m virtio_gpio.guests.linux_source [SERIES] [--version]`` prints
the path of the tree (``tools/linux-source`` runs it), unpacking it once
into the cache (:func:`virtio_gpio.cache.cache_root`) and again when the
package version changes:

* ``6.1`` (the default) or ``6.12``: the installed linux-source-SERIES
  package's tarball;
* ``newest``: the highest linux-source-X.Y that Debian's trixie-backports
  and sid suites carry, found at run time (at most once a day) with a
  private apt state in the cache (:mod:`virtio_gpio.guests.debian_archive`),
  so the machine's own apt sources never see trixie or sid. When those
  suites cannot be reached, the last tree fetched is reused. When the
  newest series moves on, the previous one's tree is removed.
  ``VGPIO_NEWEST_SERIES=X.Y`` pins it to linux-source-X.Y (its newest
  version), e.g. to keep a CI cache while a new series is looked at.

``--version`` prints "SERIES VERSION" of that tree instead of its path.
Each tree is ``<cache>/linux-source-SERIES`` with the package version it
was unpacked from in its ``.unpacked`` file. Standard library only.
"""

import argparse
import functools
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from .. import cache
from . import debian_archive

PROG = "linux-source"

#: the series whose linux-source package the machine has installed
INSTALLED = ("6.1", "6.12")

#: suites searched for the newest series
NEWEST_SUITES = ("trixie-backports", "sid")

#: seconds a look at the newest series is trusted
LOOK_AGAIN = 86400

_SERIES = re.compile(r"^[0-9]+\.[0-9]+$")


class SourceError(RuntimeError):
    """The tree cannot be had; ``status`` is the exit status to give."""

    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


def _say(message):
    print("%s: %s" % (PROG, message), file=sys.stderr)


def _series_key(series):
    return tuple(int(part) for part in series.split("."))


def _debian_newest(versions):
    """The highest of Debian package ``versions``, as dpkg orders them."""
    def compare(a, b):
        if a == b:
            return 0
        newer = subprocess.run(["dpkg", "--compare-versions", a, "gt", b])
        return 1 if newer.returncode == 0 else -1
    return max(versions, key=functools.cmp_to_key(compare))


def _unpacked(dest):
    try:
        with open(os.path.join(dest, ".unpacked")) as f:
            return f.read().strip()
    except OSError:
        return None


def _unpack(root, tarball, series, version):
    """``root/linux-source-SERIES`` unpacked from ``tarball`` unless it
    already is from ``version``."""
    dest = os.path.join(root, "linux-source-" + series)
    if _unpacked(dest) != version:
        _say("unpacking linux-source-%s %s" % (series, version))
        shutil.rmtree(dest, ignore_errors=True)
        tmp = tempfile.mkdtemp(prefix=".unpack.", dir=root)
        try:
            subprocess.run(["tar", "-C", tmp, "-xf", tarball], check=True)
            (top,) = glob.glob(os.path.join(tmp, "linux-source-*"))
            os.rename(top, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        with open(os.path.join(dest, ".unpacked"), "w") as f:
            f.write(version + "\n")
    return dest


def _installed_version(series):
    tarball = "/usr/src/linux-source-%s.tar.xz" % series
    if not os.path.isfile(tarball):
        raise SourceError("%s missing (apt install linux-source-%s)"
                          % (tarball, series))
    version = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "linux-source-" + series],
        check=True, stdout=subprocess.PIPE, text=True).stdout
    return tarball, version


def _newest_pin():
    pin = os.environ.get("VGPIO_NEWEST_SERIES", "")
    if pin and not _SERIES.match(pin):
        raise SourceError("VGPIO_NEWEST_SERIES=%s is not a series like 7.3"
                          % pin, status=2)
    return pin


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _write(path, text):
    with open(path + ".new", "w") as f:
        f.write(text + "\n")
    os.replace(path + ".new", path)


def _look_up_newest(state, pin):
    """(series, version) of the newest linux-source in the suites, or None
    when they cannot be reached."""
    debian_archive.write_private_sources(
        state, [("deb", suite) for suite in NEWEST_SUITES])
    options = debian_archive.private_apt_options(state, "amd64")
    with open(os.path.join(state, "update.log"), "w") as log:
        update = subprocess.run(["apt-get"] + options + ["-qq", "update"],
                                stdout=log, stderr=subprocess.STDOUT)
    if update.returncode != 0:
        return None
    names = subprocess.run(
        ["apt-cache"] + options + ["search", "--names-only",
                                   r"^linux-source-[0-9]+\.[0-9]+$"],
        check=True, stdout=subprocess.PIPE, text=True).stdout
    found = sorted((line.split()[0][len("linux-source-"):]
                    for line in names.splitlines() if line.strip()),
                   key=_series_key)
    series = pin or (found[-1] if found else None)
    if series is None:
        raise SourceError("no linux-source-X.Y in %s"
                          % " or ".join(NEWEST_SUITES))
    madison = subprocess.run(
        ["apt-cache"] + options + ["madison", "linux-source-" + series],
        check=True, stdout=subprocess.PIPE, text=True).stdout
    versions = [line.split("|")[1].strip() for line in madison.splitlines()
                if line.count("|") >= 2]
    if not versions:
        raise SourceError("linux-source-%s is not in %s"
                          % (series, " or ".join(NEWEST_SUITES)))
    return series, _debian_newest(versions)


def _newest_version(root):
    """(series, version) of the newest series, looked up at most once a
    day, or again at once when the pin is not the last look's."""
    state = os.path.join(root, "apt-newest")
    found = os.path.join(state, "found")
    pin = _newest_pin()
    try:
        fresh = time.time() - os.path.getmtime(found) < LOOK_AGAIN
    except OSError:
        fresh = False
    if not fresh or (_read(found + ".pin") or "") != pin:
        os.makedirs(os.path.join(state, "archives"), exist_ok=True)
        looked = _look_up_newest(state, pin)
        last = _read(found)
        if looked:
            _write(found, "%s %s" % looked)
            _write(found + ".pin", pin)
        elif last and (not pin or last.split()[0] == pin):
            _say("%s unreachable, reusing %s"
                 % ("/".join(NEWEST_SUITES), last))
        else:
            sys.stderr.write(_read(os.path.join(state, "update.log")) or "")
            raise SourceError("cannot reach %s to find the newest source"
                              % "/".join(NEWEST_SUITES))
    series, version = _read(found).split()
    return series, version


def _newest_tree(root, series, version):
    """The unpacked tree of the newest series, downloaded if need be; the
    previous newest series' tree goes."""
    dest = os.path.join(root, "linux-source-" + series)
    if _unpacked(dest) == version:
        return dest
    state = os.path.join(root, "apt-newest")
    archives = os.path.join(state, "archives")
    deb = os.path.join(archives, "linux-source-%s_%s_all.deb"
                       % (series, version))
    if not os.path.isfile(deb):
        _say("downloading linux-source-%s %s" % (series, version))
        for old in glob.glob(os.path.join(archives, "*.deb")):
            os.remove(old)
        os.makedirs(archives, exist_ok=True)
        subprocess.run(["apt-get"]
                       + debian_archive.private_apt_options(state, "amd64")
                       + ["-qq", "download",
                          "linux-source-%s=%s" % (series, version)],
                       # Its output to fd 2: stdout carries the path only.
                       check=True, cwd=archives, stdout=2)
        # apt-get names the file after the version as the archive spells it.
        for got in glob.glob(os.path.join(
                archives, "linux-source-%s_*_all.deb" % series)):
            os.rename(got, deb)
    extract = tempfile.mkdtemp(prefix=".deb.", dir=root)
    try:
        subprocess.run(["dpkg", "-x", deb, extract], check=True)
        _unpack(root, os.path.join(extract, "usr", "src",
                                   "linux-source-%s.tar.xz" % series),
                series, version)
    finally:
        shutil.rmtree(extract, ignore_errors=True)
    # A previous newest series (above the installed ones) is dead weight:
    # about 1.5 GB each.
    for old in glob.glob(os.path.join(root, "linux-source-*")):
        old_series = os.path.basename(old)[len("linux-source-"):]
        if (old_series == series or not _SERIES.match(old_series)
                or _series_key(old_series) <= _series_key(INSTALLED[-1])):
            continue
        _say("removing %s (the newest series is now %s)" % (old, series))
        shutil.rmtree(old, ignore_errors=True)
    return dest


def _locked_root():
    root = cache.cache_root()
    # One caller at a time: parallel builds and test runs share the trees.
    return root, cache.locked(root, ".linux-source")


def tree(series="6.1"):
    """Path of the unpacked tree of ``series`` ("6.1", "6.12", "newest").

    :raises SourceError: when it cannot be had
    """
    root, lock = _locked_root()
    with lock:
        if series != "newest":
            tarball, version = _installed_version(series)
            return _unpack(root, tarball, series, version)
        return _newest_tree(root, *_newest_version(root))


def version(series="6.1"):
    """("SERIES", "package version") of the tree of ``series``, e.g.
    ("7.3", "7.3.4-1~bpo13+1") for "newest"; nothing is unpacked.

    :raises SourceError: when it cannot be had
    """
    root, lock = _locked_root()
    with lock:
        if series != "newest":
            return series, _installed_version(series)[1]
        return _newest_version(root)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog=PROG, description="Print the path of an unpacked Debian "
        "linux-source tree, unpacking it into the build cache first if "
        "need be.")
    parser.add_argument("series", nargs="?", default="6.1",
                        help="6.1 (default), 6.12, or newest")
    parser.add_argument("--version", action="store_true",
                        help='print "SERIES VERSION" of that tree instead '
                        "of its path")
    args = parser.parse_args(argv)
    try:
        if args.version:
            print("%s %s" % version(args.series))
        else:
            print(tree(args.series))
    except (SourceError, debian_archive.NoArchive) as exc:
        _say(str(exc))
        return getattr(exc, "status", 1)
    except subprocess.CalledProcessError as exc:
        _say("%s failed (exit status %d)" % (exc.cmd[0], exc.returncode))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
