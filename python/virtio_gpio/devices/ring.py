"""The ring interface a device loop works through.

A device sees a virtqueue as chains the driver made available: it pops
one, reads what the driver wrote, and later pushes it back as used with
the bytes it writes and the length it claims, then interrupts the driver.
The simulated rings (:mod:`virtio_gpio.simtransport`) and the vhost-user
vrings in guest memory (:mod:`virtio_gpio.vhost_user.rings`) both offer
exactly this, so one loop per protocol (:mod:`virtio_gpio.devices.loops`) serves both.
"""

import dataclasses
from typing import Iterable, Optional, Protocol


@dataclasses.dataclass
class Chain:
    """One chain the driver made available."""

    #: how the ring finds the chain again when it is pushed back
    token: object
    #: the driver-written (device-readable) part, concatenated
    readable: bytes
    #: room in the device-writable part, in bytes
    writable: int


class Ring(Protocol):
    """One virtqueue, seen from the device."""

    def pop(self) -> Optional[Chain]:
        """The next available chain, or None."""

    def push(self, token, payload: bytes, used_len: int) -> None:
        """Return a chain as used: ``payload`` into its writable part,
        ``used_len`` claimed in the used ring (a faulty device may lie)."""

    def interrupt(self) -> bool:
        """Signal the driver; True when it has run by the time this
        returns (and so may have made new chains available)."""

    def forge(self, held: Iterable[object]) -> bool:
        """Return as used a descriptor that heads none of the ``held``
        chains' tokens nor any the driver made available: a buffer the
        driver never posted. False when the ring is not set up yet (the
        forgery waits for it)."""
