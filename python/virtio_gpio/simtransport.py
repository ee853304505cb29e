"""The simulated transport: a device model behind two simulated virtqueues.

The rings are C (``python/csrc/simvq.c``) and behave like real ones: they
are finite, a buffer comes back to the driver only when the device marks it
used, many used buffers may arrive per interrupt, and a receive buffer the
driver does not post again is gone. The device half runs here, when the
driver sleeps in ``wait`` or when a test calls :meth:`SimTransport.run`.
"""

import collections
import errno
import logging
from typing import List

from . import protocol
from ._binding import ffi, lib
from .device import Outgoing

log = logging.getLogger(__name__)


class SimTransport:
    """Connects a device model to the core through simulated rings.

    :param device: the device model (e.g. :class:`~virtio_gpio.device.SeedDevice`)
    :param ring_size: entries per virtqueue
    :param tx_interrupts: whether the device signals used transmit buffers;
        without it the driver must reclaim them on its own
    """

    def __init__(self, device, ring_size=16, tx_interrupts=True):
        self.device = device
        self.tx_interrupts = tx_interrupts
        self.core = ffi.NULL
        self.config = device.config_space()
        self._cfg = ffi.new("unsigned char[]", self.config)
        self.host = ffi.new("struct vgpio_uhost *")
        self.host.cfg = self._cfg
        self.host.cfg_len = len(self.config)
        self._handle = ffi.new_handle(self)
        self.host.handle = self._handle
        self.host.wait = lib._vgpio_py_wait
        self.host.notify = lib._vgpio_py_notify
        self.host.wake = lib._vgpio_py_wake
        self.host.irq = lib._vgpio_py_irq
        self.host.rejected = lib._vgpio_py_rejected
        for vq in (protocol.VQ_RX, protocol.VQ_TX):
            ring = lib.simvq_new(ring_size)
            if ring == ffi.NULL:
                raise MemoryError("simvq_new(%d) failed" % ring_size)
            self.host.vq[vq] = ring
        self.pending: List[Outgoing] = []
        self.notifications = {protocol.VQ_RX: 0, protocol.VQ_TX: 0}
        self.rx_interrupts = 0
        #: how many times the core woke a waiter
        self.wakes = 0
        #: (errno, reason) of the device messages the core dropped, newest last
        self.rejections = collections.deque(maxlen=1024)
        self.irq_handler = None
        self.interrupt_next_waits = 0
        self.device_paused = False
        #: called as before_wait(line) when the driver is about to sleep;
        #: tests use it to act while a request is in flight
        self.before_wait = None
        self._parked = None

    # -- callbacks from the core -------------------------------------------

    def park(self, exc):
        """Keep an exception raised inside a C callback for :meth:`reraise`."""
        if self._parked is None:
            self._parked = exc

    def reraise(self):
        """Raise the exception a callback parked, if any."""
        exc, self._parked = self._parked, None
        if exc is not None:
            raise exc

    def on_notify(self, vq):
        self.notifications[vq] += 1

    def on_wake(self, line):
        self.wakes += 1

    def on_rejected(self, err, why):
        self.rejections.append((-err, ffi.string(why).decode()))

    def on_irq(self, line):
        if self.irq_handler is not None:
            self.irq_handler(line)

    def on_wait(self, line):
        """The driver sleeps: let the device run once, as a real one would."""
        hook, self.before_wait = self.before_wait, None
        if hook is not None:
            hook(line)
        if self.interrupt_next_waits:
            self.interrupt_next_waits -= 1
            return -errno.EINTR
        if not self.device_paused:
            self.run()
        if lib.vgpio_line_done(self.core, line):
            return 0
        return -errno.ETIMEDOUT

    # -- device side ---------------------------------------------------------

    def attach(self, core):
        """Bind the probed core, whose callbacks this transport invokes."""
        self.core = core

    def _ring(self, vq):
        return self.host.vq[vq]

    def take_requests(self):
        """Pop every request the driver queued; their buffers go back used."""
        ring = self._ring(protocol.VQ_TX)
        requests = []
        buf = ffi.new("unsigned char[]", protocol.MSG_SIZE)
        while True:
            desc = lib.simvq_pop_avail(ring)
            if desc < 0:
                break
            got = lib.simvq_read(ring, desc, buf, protocol.MSG_SIZE)
            requests.append(bytes(ffi.buffer(buf, max(got, 0))))
            lib.simvq_push_used(ring, desc, 0)
        return requests

    def deliver(self, messages):
        """Queue device->driver messages and move them into rx buffers."""
        self.pending.extend(messages)
        self._flush()

    def _flush(self):
        """Fill posted rx buffers, one interrupt per batch, until stuck."""
        ring = self._ring(protocol.VQ_RX)
        while self.pending:
            moved = 0
            while self.pending:
                desc = lib.simvq_pop_avail(ring)
                if desc < 0:
                    break
                out = self.pending.pop(0)
                lib.simvq_write(ring, desc, out.payload, len(out.payload))
                lib.simvq_push_used(ring, desc, out.used_len)
                moved += 1
            if not moved or self.core == ffi.NULL:
                break
            self.rx_interrupts += 1
            lib.vgpio_rx_callback(self.core)
            self.reraise()

    def run(self):
        """One round of device work: answer all queued requests."""
        requests = self.take_requests()
        if requests:
            self.deliver(self.device.process(requests))
            if self.tx_interrupts and self.core != ffi.NULL:
                lib.vgpio_tx_callback(self.core)
        else:
            self._flush()
        return len(requests)

    def set_input(self, line, level):
        """Drive an input line of the device and deliver the event."""
        self.deliver(self.device.set_input(line, level))

    def release_delayed(self):
        """Deliver the replies the device held back."""
        self.deliver(self.device.release_delayed())

    # -- introspection -------------------------------------------------------

    def ring_stats(self, vq):
        """Free, available and used entry counts of one ring."""
        ring = self._ring(vq)
        return {
            "size": lib.simvq_size(ring),
            "free": lib.simvq_num_free(ring),
            "avail": lib.simvq_num_avail(ring),
            "used": lib.simvq_num_used(ring),
        }

    def close(self):
        """Free the rings; the core must be destroyed first."""
        for vq in (protocol.VQ_RX, protocol.VQ_TX):
            if self.host.vq[vq] != ffi.NULL:
                lib.simvq_free(self.host.vq[vq])
                self.host.vq[vq] = ffi.NULL
