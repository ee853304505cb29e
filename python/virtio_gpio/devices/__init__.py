"""Models of the device side, one module per protocol: ``id30`` (the
2020 proposal, device ID 30) and ``standard`` (virtio 1.2, device ID 41),
with what they share (messages, faults, named lines) in ``base``.

They need the compiled core for the protocols' constants.
"""

from .base import (FORGED_TOKEN, USED_LEN_MAX, ConfigFault, DeviceModel,
                   Fault, Outgoing)
from .id30 import Id30Device, Line, RawConfigDevice
from .standard import StandardDevice

__all__ = ["FORGED_TOKEN", "USED_LEN_MAX", "ConfigFault", "DeviceModel",
           "Fault", "Id30Device", "Line", "Outgoing", "RawConfigDevice",
           "StandardDevice"]
