"""The device side, in plain Python (no compiled code).

Models, one module per protocol: ``id30`` (the 2020 proposal, device ID
30) and ``standard`` (virtio 1.2, device ID 41), with what they share
(messages, faults, named lines, one shape) in ``base``; ``floor``, the
benchmark's model-less responder. The loop that serves a model through
rings, once per protocol, is ``loops``, over the ring interface of
``ring``.
"""

from .base import (FORGED_TOKEN, USED_LEN_MAX, ConfigFault, DeviceModel,
                   Fault, Outgoing)
from .id30 import Id30Device, Line, RawConfigDevice
from .standard import StandardDevice

__all__ = ["FORGED_TOKEN", "USED_LEN_MAX", "ConfigFault", "DeviceModel",
           "Fault", "Id30Device", "Line", "Outgoing", "RawConfigDevice",
           "StandardDevice"]
