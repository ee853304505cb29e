"""virtio-gpio: the portable driver core, driven from Python.

The C core that the kernel module links (``kernel/vgpio_core.c``) is
compiled into ``virtio_gpio._core`` with cffi. On top of it:

* :class:`Chip` - the operations gpiolib calls, with Python exceptions;
* :class:`SeedDevice` - a model of the device side, with fault injection;
* :class:`SimTransport` - simulated virtqueues between the two.
"""

from .chip import Chip, Event
from .device import ConfigFault, Fault, Outgoing, SeedDevice
from .errors import ProbeError, VirtioGpioError
from .protocol import Direction, Edge, MsgType
from .simtransport import SimTransport

__version__ = "0.1.0"

__all__ = [
    "Chip", "ConfigFault", "Direction", "Edge", "Event", "Fault", "MsgType",
    "Outgoing", "ProbeError", "SeedDevice", "SimTransport", "VirtioGpioError",
    "__version__",
]
