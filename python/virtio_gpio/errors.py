"""Exceptions raised by the Python API.

Errors reported by the core or the device carry the errno, so callers can
match on ``exc.errno`` exactly as with any :class:`OSError`. Misuse of the
API (bad line number, wrong type) raises :class:`ValueError` or
:class:`TypeError` before anything reaches the core.
"""

import errno
import os


class VirtioGpioError(OSError):
    """A request failed: the device's errno or the core's own."""

    def __init__(self, err, what=""):
        message = os.strerror(err)
        if what:
            message = "%s: %s" % (what, message)
        super().__init__(err, message)


class ProbeError(VirtioGpioError):
    """The core refused the device at probe; ``reason`` says why."""

    def __init__(self, err, reason):
        super().__init__(err, "probe failed (%s)" % reason)
        self.reason = reason


class ConfigWindowOverrun(RuntimeError):
    """The core read config space past what the transport serves.

    Not a device error: a bug of the core that in the kernel is a crash
    (virtio-pci's BUG_ON, a stray access past virtio-mmio's window). The
    simulated transport counts such reads and the probe raises this.
    """


def check(ret, what=""):
    """Return ``ret`` when it is not a negative errno, else raise."""
    if ret < 0:
        raise VirtioGpioError(-ret, what)
    return ret


__all__ = ["VirtioGpioError", "ProbeError", "ConfigWindowOverrun", "check",
           "errno"]
