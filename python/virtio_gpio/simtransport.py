"""The simulated transport: a device model behind simulated virtqueues.

The rings are C (``python/csrc/simvq.c``) and behave like real ones: they
are finite, a chain comes back to the driver only when the device marks it
used, many used chains may arrive per interrupt, and a receive buffer the
driver does not post again is gone. The device half runs here, when the
driver sleeps in ``wait`` or when a test calls :meth:`SimTransport.run`.
How requests and events travel differs per protocol; ``Id30Wire`` and
``StandardWire`` each know one.
"""

import collections
import errno
import logging
from typing import List

from . import protocol
from ._binding import ffi, lib
from .devices.base import FORGED_TOKEN, Outgoing

log = logging.getLogger(__name__)


def _read_out(ring, desc):
    """The driver-written part of a popped chain."""
    size = max(lib.simvq_out_len(ring, desc), 0)
    buf = ffi.new("unsigned char[]", max(size, 1))
    got = lib.simvq_read(ring, desc, buf, size) if size else 0
    return bytes(ffi.buffer(buf, max(got, 0)))


def _write_in(ring, desc, payload, used_len):
    """Fill a chain's device-writable part and return it as used."""
    if payload:
        lib.simvq_write(ring, desc, payload, len(payload))
    lib.simvq_push_used(ring, desc, used_len)


class Id30Wire:
    """2020 protocol: requests on tx (queue 1), replies and events on rx (0)."""

    RX, TX = protocol.VQ_RX, protocol.VQ_TX

    def __init__(self, transport):
        self.t = transport
        self.pending: List[Outgoing] = []

    def queues(self):
        return (self.RX, self.TX)

    def take_requests(self):
        ring = self.t.ring(self.TX)
        requests = []
        while True:
            desc = lib.simvq_pop_avail(ring)
            if desc < 0:
                break
            requests.append(_read_out(ring, desc))
            lib.simvq_push_used(ring, desc, 0)
        return requests

    def deliver(self, messages):
        self.pending.extend(messages)
        self.flush()

    def flush(self):
        """Fill posted rx buffers, one interrupt per batch, until stuck."""
        ring = self.t.ring(self.RX)
        while self.pending:
            moved = 0
            while self.pending:
                desc = lib.simvq_pop_avail(ring)
                if desc < 0:
                    break
                out = self.pending.pop(0)
                _write_in(ring, desc, out.payload, out.used_len)
                moved += 1
            if not moved or not self.t.interrupt(self.RX):
                break

    def run(self):
        requests = self.take_requests()
        if requests:
            self.deliver(self.t.device.process(requests))
            if self.t.tx_interrupts:
                self.t.interrupt(self.TX)
        else:
            self.flush()
        return len(requests)

    def set_input(self, line, level):
        self.deliver(self.t.device.set_input(line, level))

    def release_delayed(self):
        self.deliver(self.t.device.release_delayed())


class StandardWire:
    """virtio 1.2: request chains on requestq (0), irq chains on eventq (1)."""

    REQUESTQ = lib.VGPIO_STD_VQ_REQUEST
    EVENTQ = lib.VGPIO_STD_VQ_EVENT

    def __init__(self, transport):
        self.t = transport

    def queues(self):
        return (self.REQUESTQ, self.EVENTQ) if self.t.device.irq else (self.REQUESTQ,)

    def _answer(self, replies):
        ring = self.t.ring(self.REQUESTQ)
        for reply in replies:
            _write_in(ring, reply.token, reply.payload, reply.used_len)
        if replies:
            self.t.interrupt(self.REQUESTQ)

    def run(self):
        ring = self.t.ring(self.REQUESTQ)
        device = self.t.device
        replies, seen = [], 0
        while True:
            desc = lib.simvq_pop_avail(ring)
            if desc < 0:
                break
            seen += 1
            reply = device.handle(_read_out(ring, desc),
                                  lib.simvq_in_len(ring, desc), desc)
            if reply is not None:
                replies.append(reply)
        self._answer(replies)
        self.take_irq_buffers()
        return seen

    def take_irq_buffers(self):
        """Hand the driver's eventq chains to the model, return finished ones."""
        if not self.t.device.irq:
            return
        ring = self.t.ring(self.EVENTQ)
        while True:
            desc = lib.simvq_pop_avail(ring)
            if desc < 0:
                break
            self.t.device.queue_irq(_read_out(ring, desc), desc)
        self.complete_irqs()

    def complete_irqs(self):
        done = self.t.device.take_irq_completions()
        if not done:
            return
        ring = self.t.ring(self.EVENTQ)
        for completion in done:
            if completion.token is FORGED_TOKEN:
                self._forge(ring)
                continue
            _write_in(ring, completion.token, completion.payload,
                      completion.used_len)
        self.t.interrupt(self.EVENTQ)

    def _forge(self, ring):
        """Return a descriptor the driver never made available. The ring
        refuses it and breaks, as the kernel's virtio_ring does ("is not
        a head")."""
        held = set(self.t.device.held_irq_lines().values())
        free = sorted(set(range(lib.simvq_size(ring))) - held)
        if not free:
            return
        if lib.simvq_push_used(ring, free[0], 1) != -errno.EINVAL:
            raise AssertionError("the ring took forged descriptor %d" % free[0])
        self.t.forged_refused += 1

    def set_input(self, line, level):
        self.take_irq_buffers()
        self.t.device.set_input(line, level)
        self.complete_irqs()

    def release_delayed(self):
        self._answer(self.t.device.release_delayed())


class SimTransport:
    """Connects a device model to the core through simulated rings.

    :param device: the device model, :class:`~virtio_gpio.devices.id30.Id30Device`
        or :class:`~virtio_gpio.devices.standard.StandardDevice`; its
        ``device_id`` picks the protocol, as at a real probe
    :param ring_size: entries per virtqueue
    :param tx_interrupts: whether the device signals used transmit buffers
        (2020 protocol); without it the driver must reclaim them on its own
    :param config_window: how many config bytes the transport serves (past
        the device's own, all ones); a read beyond is counted, and the
        probe raises :class:`~virtio_gpio.errors.ConfigWindowOverrun`. The
        default is virtio-mmio's 256.
    :param tell_config_size: whether the core is told the config size. The
        kernel's transports do not tell it, so by default neither does
        this one; when told, the window is the device's config itself.
    :param config_change: ``(n, config)``: the device's config becomes the
        bytes ``config`` right after the driver's ``n``-th config read
        (counted from 1), and the config generation moves on
    :param config_always_changing: every config read moves the config
        generation on, as a device that never holds its config still
    """

    def __init__(self, device, ring_size=16, tx_interrupts=True,
                 config_window=lib.VGPIO_CFG_WINDOW, tell_config_size=False,
                 config_change=None, config_always_changing=False):
        self.device = device
        self.tx_interrupts = tx_interrupts
        self.core = ffi.NULL
        self.config = device.config_space()
        # A size of 0 is how the core hears "not told".
        tell_config_size = tell_config_size and len(self.config) > 0
        standard = device.device_id == lib.VGPIO_STD_DEVICE_ID
        self.wire = (StandardWire if standard else Id30Wire)(self)
        self.info = ffi.new("struct vgpio_dev_info *", {
            "device_id": device.device_id,
            "cfg_size": len(self.config) if tell_config_size else 0,
            "irq": standard and bool(device.features & (1 << lib.VGPIO_STD_F_IRQ)),
        })
        self._cfg = ffi.new("unsigned char[]", self.config)
        self.host = ffi.new("struct vgpio_uhost *")
        self.host.cfg = self._cfg
        self.host.cfg_len = len(self.config)
        self.host.cfg_window = len(self.config) if tell_config_size \
            else config_window
        if config_change is not None:
            at, config = config_change
            self._cfg_next = ffi.new("unsigned char[]", bytes(config))
            self.host.cfg_change_at = at
            self.host.cfg_next = self._cfg_next
            self.host.cfg_next_len = len(config)
        self.host.cfg_always_changing = config_always_changing
        self._handle = ffi.new_handle(self)
        self.host.handle = self._handle
        self.host.wait = lib._vgpio_py_wait
        self.host.notify = lib._vgpio_py_notify
        self.host.wake = lib._vgpio_py_wake
        self.host.irq = lib._vgpio_py_irq
        self.host.rejected = lib._vgpio_py_rejected
        for vq in self.wire.queues():
            ring = lib.simvq_new(ring_size)
            if ring == ffi.NULL:
                self.close()
                raise MemoryError("simvq_new(%d) failed" % ring_size)
            self.host.vq[vq] = ring
        self.notifications = {vq: 0 for vq in self.wire.queues()}
        #: queue callbacks the device raised, per queue
        self.interrupts = {vq: 0 for vq in self.wire.queues()}
        #: how many times the core woke a waiter
        self.wakes = 0
        #: (errno, reason) of the device messages the core dropped, newest last
        self.rejections = collections.deque(maxlen=1024)
        #: forged eventq returns the ring refused (Fault.FORGED_EVENT)
        self.forged_refused = 0
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

    def ring(self, vq):
        """The simulated ring of queue ``vq``."""
        return self.host.vq[vq]

    def interrupt(self, vq):
        """Raise queue ``vq``'s callback; False when no core is attached."""
        if self.core == ffi.NULL:
            return False
        self.interrupts[vq] += 1
        lib.vgpio_vq_callback(self.core, vq)
        self.reraise()
        return True

    @property
    def rx_interrupts(self):
        """Callbacks of the queue replies arrive on."""
        return self.interrupts[0]

    def take_requests(self):
        """Pop every ID 30 request the driver queued (returned used)."""
        return self.wire.take_requests()

    def deliver(self, messages):
        """Queue ID 30 device->driver messages and move them into rx buffers."""
        self.wire.deliver(messages)

    def run(self):
        """One round of device work: answer all queued requests. First
        the deferred arms the core asked for, as the kernel's workqueue
        would have run them meanwhile."""
        self.run_deferred_arms()
        return self.wire.run()

    def run_deferred_arms(self):
        """Run vgpio_irq_arm_pending() if the core asked for it."""
        if self.host.arm_pending and self.core != ffi.NULL:
            self.host.arm_pending = 0
            lib.vgpio_irq_arm_pending(self.core)
            self.reraise()

    def set_input(self, line, level):
        """Drive an input line of the device and deliver what it causes."""
        self.wire.set_input(line, level)

    def release_delayed(self):
        """Deliver the replies the device held back."""
        self.wire.release_delayed()

    # -- introspection -------------------------------------------------------

    def ring_stats(self, vq):
        """Free, available and used entry counts of one ring."""
        ring = self.ring(vq)
        return {
            "size": lib.simvq_size(ring),
            "free": lib.simvq_num_free(ring),
            "avail": lib.simvq_num_avail(ring),
            "used": lib.simvq_num_used(ring),
        }

    def close(self):
        """Free the rings; the core must be destroyed first."""
        for vq in range(len(self.host.vq)):
            if self.host.vq[vq] != ffi.NULL:
                lib.simvq_free(self.host.vq[vq])
                self.host.vq[vq] = ffi.NULL
