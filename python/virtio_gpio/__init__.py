"""virtio-gpio: the portable driver core, driven from Python.

The C core that the kernel module links (``kernel/vgpio_core.c``) is
compiled into ``virtio_gpio._core`` with cffi. On top of it:

* :class:`Chip` - the operations gpiolib calls, with Python exceptions,
  over any transport;
* :class:`Id30Device` and :class:`StandardDevice` - models of the device
  side of each protocol, with fault injection;
* :class:`SimTransport` and :func:`simulated_chip` - simulated virtqueues
  between the two.

Subpackages, cut along what they need: ``wire`` (both protocols' formats),
``devices`` (the device models and their one loop per protocol) and
``vhost_user`` (the backend serving them to a real guest) are plain
Python; ``guests`` (kernel trees, UML and QEMU guests, the in-guest bench)
and ``kconfig`` (the Kconfig lint) never touch the core either. Only
``chip``, ``simtransport`` and what uses them load the compiled
extension. The names below are imported on first use, so that the rest
imports without it.
"""

import importlib
import importlib.metadata

#: public name -> the module that defines it
_EXPORTS = {
    "Chip": "chip", "Event": "chip",
    "ConfigFault": "devices.base", "Fault": "devices.base",
    "Id30Device": "devices.id30", "Outgoing": "devices.base",
    "StandardDevice": "devices.standard",
    "ProbeError": "errors", "VirtioGpioError": "errors",
    "Direction": "lines", "Edge": "lines", "MsgType": "wire.id30",
    "SimTransport": "simtransport", "simulated_chip": "simtransport",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name == "__version__":
        # From the installed package's metadata, whose source is
        # kernel/vgpio_version.h (read by setup.py).
        value = importlib.metadata.version("virtio-gpio")
    elif name in _EXPORTS:
        module = importlib.import_module("." + _EXPORTS[name], __name__)
        value = getattr(module, name)
    else:
        raise AttributeError("module %r has no attribute %r"
                             % (__name__, name))
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
