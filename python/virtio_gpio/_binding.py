"""Loads the compiled core (``virtio_gpio._core``) and routes its callbacks.

The C side calls back into Python through five ``extern "Python"``
functions. Each receives the ``void *`` handle of the transport that owns
the core and forwards to it. An exception raised inside a callback cannot
cross the C frames, so it is parked on the transport and re-raised by the
Python code that made the C call (``SimTransport.reraise``).
"""

import errno

from ._core import ffi, lib

#: The binding's ABI, written here only: the builder reads it from this
#: line and bakes it into the extension. Raise it whenever the C side of
#: the binding changes.
EXPECTED_ABI = 11

if lib.VGPIO_BINDING_ABI != EXPECTED_ABI:  # pragma: no cover - stale build
    raise ImportError(
        "virtio_gpio._core was built for binding ABI %d, this package needs %d;"
        " rebuild it (make build)" % (lib.VGPIO_BINDING_ABI, EXPECTED_ABI))


def _forward(name, method, failure=None):
    """Define the extern "Python" ``name`` as a call of ``owner.method``.

    An exception is parked on the owner and ``failure`` returned to C.
    """
    def callback(handle, *args):
        owner = ffi.from_handle(handle)
        try:
            return getattr(owner, method)(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised by the caller
            owner.park(exc)
            return failure

    ffi.def_extern(name=name)(callback)


_forward("_vgpio_py_wait", "on_wait", failure=-errno.EIO)
_forward("_vgpio_py_notify", "on_notify")
_forward("_vgpio_py_wake", "on_wake")
_forward("_vgpio_py_irq", "on_irq")
_forward("_vgpio_py_rejected", "on_rejected")

__all__ = ["ffi", "lib"]
