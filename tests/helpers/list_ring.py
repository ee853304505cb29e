"""A ring kept in Python lists, for tests of the device loops: the ring
interface of virtio_gpio.devices.ring and nothing more."""

from virtio_gpio.devices.ring import Chain


class ListRing:
    """Chains the driver made available, and what came back used."""

    def __init__(self):
        self.avail = []
        self.used = []
        self.interrupts = 0
        self.forged = []
        #: False: a ring the driver has not set up yet
        self.ready = True

    def offer(self, readable=b"", writable=0):
        token = len(self.avail) + len(self.used) + 100
        self.avail.append(Chain(token, readable, writable))
        return token

    def pop(self):
        return self.avail.pop(0) if self.avail else None

    def push(self, token, payload, used_len):
        self.used.append((token, bytes(payload), used_len))

    def interrupt(self):
        self.interrupts += 1
        return False

    def forge(self, held):
        if not self.ready:
            return False
        self.forged.append(set(held))
        return True
