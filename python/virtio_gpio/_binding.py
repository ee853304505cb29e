"""Loads the compiled core (``virtio_gpio._core``) and routes its callbacks.

The C side calls back into Python through four ``extern "Python"``
functions. Each receives the ``void *`` handle of the transport that owns
the core and forwards to it. An exception raised inside a callback cannot
cross the C frames, so it is parked on the transport and re-raised by the
Python code that made the C call (:meth:`Transport.reraise`).
"""

import errno

from ._core import ffi, lib

#: Must match BINDING_ABI in python/_cffi_src/build_core.py.
EXPECTED_ABI = 1

if lib.VGPIO_BINDING_ABI != EXPECTED_ABI:  # pragma: no cover - stale build
    raise ImportError(
        "virtio_gpio._core was built for binding ABI %d, this package needs %d;"
        " rebuild it (make build)" % (lib.VGPIO_BINDING_ABI, EXPECTED_ABI))


def _owner(handle):
    return ffi.from_handle(handle)


@ffi.def_extern()
def _vgpio_py_wait(handle, line):
    owner = _owner(handle)
    try:
        return owner.on_wait(line)
    except BaseException as exc:  # noqa: BLE001 - re-raised by the caller
        owner.park(exc)
        return -errno.EIO


@ffi.def_extern()
def _vgpio_py_notify(handle, vq):
    owner = _owner(handle)
    try:
        owner.on_notify(vq)
    except BaseException as exc:  # noqa: BLE001
        owner.park(exc)


@ffi.def_extern()
def _vgpio_py_wake(handle, line):
    owner = _owner(handle)
    try:
        owner.on_wake(line)
    except BaseException as exc:  # noqa: BLE001
        owner.park(exc)


@ffi.def_extern()
def _vgpio_py_irq(handle, line):
    owner = _owner(handle)
    try:
        owner.on_irq(line)
    except BaseException as exc:  # noqa: BLE001
        owner.park(exc)




@ffi.def_extern()
def _vgpio_py_rejected(handle, err, why):
    owner = _owner(handle)
    try:
        owner.on_rejected(err, ffi.string(why).decode())
    except BaseException as exc:  # noqa: BLE001
        owner.park(exc)


__all__ = ["ffi", "lib"]
