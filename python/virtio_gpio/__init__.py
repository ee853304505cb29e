"""virtio-gpio: the portable driver core, driven from Python.

The C core that the kernel module links (``kernel/vgpio_core.c``) is
compiled into ``virtio_gpio._core`` with cffi. On top of it:

* :class:`Chip` - the operations gpiolib calls, with Python exceptions;
* :class:`Id30Device` - a model of the device side, with fault injection;
* :class:`SimTransport` - simulated virtqueues between the two.

Subpackages, cut along what they need: ``devices`` (the device models,
one per protocol) and ``vhost_user`` (the backend serving them to a real
guest) build on the core; ``guests`` (kernel trees, UML and QEMU guests,
the in-guest bench) and ``kconfig`` (the Kconfig lint) never touch it.
The names below are imported on first use, so that those import without
the compiled extension.
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
    "Direction": "protocol", "Edge": "protocol", "MsgType": "protocol",
    "SimTransport": "simtransport",
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
