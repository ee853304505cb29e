"""The vrings of one front end, as the device loop sees them: the ring
interface of :mod:`virtio_gpio.devices.ring` over guest memory."""

import logging

from ..devices.ring import Chain
from .protocol import ProtocolError

log = logging.getLogger(__name__)

#: the most a chain's device-readable part may hold: every message of
#: either protocol is a few bytes
MAX_READABLE = 1 << 16


class GuestRing:
    """Queue ``index`` of a connection, walked in the guest's memory.

    It looks the vring up on every call: the front end may set a ring up
    anew (RESET_OWNER) while the loop holding this stays the same.
    """

    def __init__(self, conn, index):
        self.conn = conn
        self.index = index

    @property
    def vring(self):
        return self.conn.vrings[self.index]

    def pop(self):
        conn = self.conn
        mem = conn.mem
        popped = conn.vrings[self.index].pop(mem)
        if popped is None:
            return None
        head, parts = popped
        # One pass; a request is one readable descriptor, read as is.
        readable, room, size = [], 0, 0
        for addr, length, writable in parts:
            if writable:
                room += length
            else:
                # Bounded before it is copied: a chain (up to CHAIN_MAX
                # descriptors of up to 4 GiB each) may name all of guest
                # memory many times over.
                size += length
                if size > MAX_READABLE:
                    raise ProtocolError("queue %d: chain %d has more than %d "
                                        "device-readable bytes"
                                        % (self.index, head, MAX_READABLE))
                readable.append(mem.read(addr, length))
        return Chain((head, parts), readable[0] if len(readable) == 1
                     else b"".join(readable), room)

    def push(self, token, payload, used_len):
        head, parts = token
        mem = self.conn.mem
        done, size = 0, len(payload)
        for addr, length, writable in parts:
            if writable and done < size:
                chunk = payload if not done and length >= size \
                    else payload[done:done + length]
                mem.write(addr, chunk)
                done += len(chunk)
        if done < size and not any(w for _, _, w in parts):
            raise ProtocolError("queue %d: buffer %d is not device-writable"
                                % (self.index, head))
        self.conn.vrings[self.index].push(mem, head, used_len)

    def interrupt(self):
        # The guest runs on its own: nothing it does has happened yet.
        self.vring.interrupt()
        return False

    def forge(self, held):
        vring = self.vring
        if not (vring.num and vring.ready and vring.enabled):
            return False
        heads = {head for head, _ in held}
        free = sorted(set(range(vring.num)) - heads)
        if not free:
            log.warning("forged_event: every descriptor is held")
            return True
        vring.push(self.conn.mem, free[0], 1)
        return True
