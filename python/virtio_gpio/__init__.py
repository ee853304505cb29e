"""virtio-gpio: the portable driver core, driven from Python.

The C core that the kernel module links (``kernel/vgpio_core.c``) is
compiled into ``virtio_gpio._core`` with cffi. On top of it:

* :class:`Chip` - the operations gpiolib calls, with Python exceptions;
* :class:`Id30Device` - a model of the device side, with fault injection;
* :class:`SimTransport` - simulated virtqueues between the two.
"""

import importlib.metadata

from .chip import Chip, Event
from .device import ConfigFault, Fault, Id30Device, Outgoing
from .errors import ProbeError, VirtioGpioError
from .protocol import Direction, Edge, MsgType
from .simtransport import SimTransport

#: from the installed package's metadata, whose source is
#: kernel/vgpio_version.h (read by setup.py)
__version__ = importlib.metadata.version("virtio-gpio")

__all__ = [
    "Chip", "ConfigFault", "Direction", "Edge", "Event", "Fault",
    "Id30Device", "MsgType", "Outgoing", "ProbeError", "SimTransport",
    "VirtioGpioError",
    "__version__",
]
