"""virtio-gpio: the portable driver core, driven from Python.

The C core that the kernel module links (``kernel/vgpio_core.c``) is
compiled into ``virtio_gpio._core`` with cffi. On top of it:

* :class:`Chip` - the operations gpiolib calls, with Python exceptions;
* :class:`Id30Device` - a model of the device side, with fault injection;
* :class:`SimTransport` - simulated virtqueues between the two.

The names below are imported on first use, so that the parts that never
touch the core - the Kconfig lint (``virtio_gpio.kconfig``) and the guest
runners (``kernels``, ``uml``, ``qemu``, ``console``, ``progress``) -
import without the compiled extension.
"""

import importlib
import importlib.metadata

#: public name -> the module that defines it
_EXPORTS = {
    "Chip": "chip", "Event": "chip",
    "ConfigFault": "device", "Fault": "device", "Id30Device": "device",
    "Outgoing": "device",
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
