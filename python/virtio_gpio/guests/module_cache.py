"""vgpio.ko built once per kernel release and state of the sources, kept
in the build cache (:mod:`virtio_gpio.cache`) for the next guest.

The key is the release and a digest of every source file the build reads
(the files :func:`drivers.copy_kernel_sources` copies), so an edit to
``kernel/`` builds again and an unchanged tree never does. Older builds
for the same release are removed once a new one is in place.
"""

import glob
import hashlib
import os
import shutil
import sys
import tempfile
import time

from .. import progress
from ..cache import cache_root, locked
from . import drivers

#: the directory of the cache that holds the builds, one per key
CACHE_DIR = "vgpio-ko"

#: files of kernel/ a build needs: what Kbuild compiles and includes
SOURCE_NAMES = ("Kbuild", "Makefile")
SOURCE_SUFFIXES = (".c", ".h")


def find_sources(starts=None):
    """The ``kernel/`` directory of the checkout around the current
    directory, else of the one the running interpreter's venv is in
    (``.venv/bin/vgpio-guest`` run from anywhere); None if neither."""
    for start in starts or (os.getcwd(), sys.prefix):
        here = os.path.abspath(start)
        while True:
            candidate = os.path.join(here, "kernel")
            if os.path.isfile(os.path.join(candidate, "Kbuild")) and \
                    os.path.isfile(os.path.join(candidate, "vgpio_core.c")):
                return candidate
            parent = os.path.dirname(here)
            if parent == here:
                break
            here = parent
    return None


def source_digest(kernel_src):
    """A digest of the file names and contents a build of ``kernel_src``
    reads."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(kernel_src):
        dirs.sort()
        for name in sorted(files):
            if name in SOURCE_NAMES or name.endswith(SOURCE_SUFFIXES):
                path = os.path.join(root, name)
                digest.update(os.path.relpath(path, kernel_src).encode()
                              + b"\0")
                with open(path, "rb") as f:
                    digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()[:16]


def module(kernel_src, release, kdir, say=progress.say):
    """Path of vgpio.ko from ``kernel_src`` for ``release``, built against
    ``kdir`` unless the cache has it; ``say(line)`` tells which."""
    root = os.path.join(cache_root(), CACHE_DIR)
    key = "%s-%s" % (release, source_digest(kernel_src))
    target = os.path.join(root, key, "vgpio.ko")
    stage = "vgpio.ko for %s" % release
    with locked(root, release):
        if os.path.isfile(target):
            say("[%s] cached: %s" % (stage, target))
            return target
        say("[%s] building from %s" % (stage, kernel_src))
        start = time.monotonic()
        os.makedirs(root, exist_ok=True)
        # Built in a private copy and moved in whole: a failed or
        # interrupted build leaves nothing under the key.
        with tempfile.TemporaryDirectory(dir=root) as work:
            built = drivers.build("ours", kdir, work, kernel_src=kernel_src)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(built, target + ".tmp")
            os.replace(target + ".tmp", target)
        for stale in glob.glob(os.path.join(root, "%s-%s" % (release,
                                                             "?" * 16))):
            if stale != os.path.dirname(target):
                shutil.rmtree(stale, ignore_errors=True)
        say("[%s] built in %.0f s: %s" % (stage, time.monotonic() - start,
                                          target))
        return target
