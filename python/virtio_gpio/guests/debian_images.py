"""The Debian kernels a guest on the bench boots: an image in /boot, the
headers vgpio.ko is built against, the modules virtio_pci comes from.

A kernel is named by its series (``6.1``, ``6.12``: the newest release of
it whose image and headers are both installed) or by the path of its
image, whose release is read from the image itself (the bzImage header's
version string), so a renamed copy still finds its headers. The
``newest`` series of :mod:`virtio_gpio.guests.kernels` is a source tree
without an image, so it cannot be booted.
"""

import collections
import glob
import os
import struct

from . import kernels

#: the series whose Debian amd64 images can be installed (and booted)
IMAGE_SERIES = tuple(s for s in kernels.SERIES if s != "newest")

#: ``image`` to boot, its ``release``, ``kdir`` (headers) to build against
Kernel = collections.namedtuple("Kernel", "image release kdir")


class UnknownKernel(ValueError):
    """A kernel that cannot be booted here; the message says why."""


def image_release(path):
    """The release an x86 bzImage was built as, from its setup header.

    The header (at 0x1f1) has the magic "HdrS" at 0x202 and, at 0x20e,
    the offset (from 0x200) of a string that starts with the release.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(0x8000)
    except OSError as exc:
        raise UnknownKernel("%s: %s" % (path, exc.strerror)) from None
    if head[0x202:0x206] != b"HdrS":
        raise UnknownKernel("%s is not an x86 kernel image (bzImage)" % path)
    start = struct.unpack_from("<H", head, 0x20E)[0] + 0x200
    end = head.find(b"\0", start)
    words = head[start:end].split() if 0 < start < end else []
    if not words:
        raise UnknownKernel("%s: no version string in its header" % path)
    return words[0].decode(errors="replace")


def _kdir(release):
    """The headers of ``release`` with a Module.symvers, or None."""
    for kdir in ("/usr/src/linux-headers-%s" % release,
                 "/lib/modules/%s/build" % release):
        if os.path.isfile(os.path.join(kdir, "Module.symvers")):
            return os.path.realpath(kdir)
    return None


def _bootable(image, release):
    """A Kernel, or the reason ``release`` cannot boot with our module."""
    kdir = _kdir(release)
    if kdir is None:
        return "no headers of %s installed (linux-headers-%s)" % (release,
                                                                  release)
    if not os.path.isdir("/lib/modules/%s" % release):
        return "no modules of %s installed (/lib/modules/%s)" % (release,
                                                                 release)
    return Kernel(image, release, kdir)


def of_series(series):
    """The newest bootable kernel of ``series``."""
    if series not in IMAGE_SERIES:
        raise UnknownKernel("unknown kernel %r: give a series (%s) or the "
                            "path of a kernel image"
                            % (series, ", ".join(IMAGE_SERIES)))
    images = glob.glob("/boot/vmlinuz-%s.*-amd64" % series)
    reasons = []
    newest_first = sorted(images, reverse=True, key=lambda path:
                          kernels.version_key(os.path.basename(path)))
    for image in newest_first:
        found = _bootable(image, os.path.basename(image)[len("vmlinuz-"):])
        if isinstance(found, Kernel):
            return found
        reasons.append(found)
    raise UnknownKernel("no Debian %s kernel to boot: %s" % (
        series, "; ".join(reasons) if reasons else
        "no /boot/vmlinuz-%s.*-amd64 (install linux-image-%s-amd64)"
        % (series, series)))


def of_image(path):
    """The kernel of the image at ``path``."""
    if not os.path.isfile(path):
        raise UnknownKernel("no kernel image at %s" % path)
    found = _bootable(os.path.abspath(path), image_release(path))
    if not isinstance(found, Kernel):
        raise UnknownKernel("%s: %s" % (path, found))
    return found


def newest():
    """The newest bootable kernel of the newest installed series."""
    for series in sorted(IMAGE_SERIES, key=kernels.version_key,
                         reverse=True):
        try:
            return of_series(series)
        except UnknownKernel:
            continue
    raise UnknownKernel("no Debian kernel of %s is installed with its "
                        "headers" % " or ".join(IMAGE_SERIES))


def resolve(spec=None):
    """The kernel ``spec`` names: None (the newest), a series or a path."""
    if spec is None:
        return newest()
    if os.sep in spec or os.path.exists(spec):
        return of_image(spec)
    return of_series(spec)
