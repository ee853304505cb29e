"""The build cache: where it is, and how two processes share it.

Unpacked kernel sources, prepared kernel trees, UML kernels, kconfig's
conf and patched QEMUs take minutes to make, so they are kept outside the
checkout, where every clone (CI's included) finds them again:
``$VGPIO_CACHE_DIR``, else ``~/.cache/virtio-gpio``.

Standard library only: the kernel trees are prepared before the compiled
core exists, and the Kconfig lint never needs it.
"""

import contextlib
import fcntl
import os


def cache_root():
    """Where builds are kept across checkouts: VGPIO_CACHE_DIR or ~/.cache."""
    return os.environ.get("VGPIO_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "virtio-gpio")


@contextlib.contextmanager
def locked(root, name):
    """Hold an exclusive lock on ``root/name.lock`` (``root`` is created).

    A second process that builds or removes the same thing (a test run
    beside ``make``) waits instead of finding it half made.
    """
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
