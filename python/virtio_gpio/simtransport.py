"""The simulated transport: a device model behind simulated virtqueues.

The rings are C (``python/csrc/simvq.c``) and behave like real ones: they
are finite, a chain comes back to the driver only when the device marks it
used, many used chains may arrive per interrupt, and a receive buffer the
driver does not post again is gone. :class:`SimRing` gives them the ring
interface of :mod:`virtio_gpio.devices.ring`, and the protocol's device
loop (:mod:`virtio_gpio.devices.loops`) runs on them, the same loop the
vhost-user backend runs: when the driver sleeps in ``wait``, or when a
test calls :meth:`SimTransport.run`.
"""

import collections
import errno
import logging

from . import errors
from ._binding import ffi, lib
from .chip import PROTOCOLS, Chip
from .devices.id30 import Id30Device
from .devices.loops import loop_for
from .devices.standard import StandardDevice
from .devices.ring import Chain
from .wire import id30 as id30_wire
from .wire import standard as std_wire

log = logging.getLogger(__name__)


class SimRing:
    """One simulated ring, as the device sees it."""

    def __init__(self, transport, index, size):
        self.transport = transport
        self.index = index
        self.ring = lib.simvq_new(size)
        if self.ring == ffi.NULL:
            raise MemoryError("simvq_new(%d) failed" % size)

    def pop(self):
        desc = lib.simvq_pop_avail(self.ring)
        if desc < 0:
            return None
        size = max(lib.simvq_out_len(self.ring, desc), 0)
        buf = ffi.new("unsigned char[]", max(size, 1))
        got = lib.simvq_read(self.ring, desc, buf, size) if size else 0
        return Chain(desc, bytes(ffi.buffer(buf, max(got, 0))),
                     max(lib.simvq_in_len(self.ring, desc), 0))

    def push(self, token, payload, used_len):
        if payload:
            lib.simvq_write(self.ring, token, payload, len(payload))
        lib.simvq_push_used(self.ring, token, used_len)

    def interrupt(self):
        return self.transport.interrupt(self.index)

    def forge(self, held):
        """The ring refuses a descriptor that heads no chain and breaks,
        as the kernel's virtio_ring does ("is not a head")."""
        free = sorted(set(range(lib.simvq_size(self.ring))) - set(held))
        if not free:
            return True
        if lib.simvq_push_used(self.ring, free[0], 1) != -errno.EINVAL:
            raise AssertionError("the ring took forged descriptor %d"
                                 % free[0])
        self.transport.forged_refused += 1
        return True

    def free(self):
        lib.simvq_free(self.ring)
        self.ring = ffi.NULL


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
    :param indirect: the rings take indirect descriptor tables, as a
        device offering ``VIRTIO_RING_F_INDIRECT_DESC`` (the standard
        protocol): a chain takes one ring entry instead of one per buffer
    :param legacy: the device did not negotiate VIRTIO_F_VERSION_1 (a
        pre-1.0 device)
    """

    def __init__(self, device, ring_size=16, tx_interrupts=True,
                 config_window=id30_wire.CFG_WINDOW, tell_config_size=False,
                 config_change=None, config_always_changing=False,
                 indirect=False, legacy=False):
        self.device = device
        self.core = ffi.NULL
        self.config = device.config_space()
        # A size of 0 is how the core hears "not told".
        tell_config_size = tell_config_size and len(self.config) > 0
        standard = device.device_id == std_wire.DEVICE_ID
        self.info = ffi.new("struct vgpio_dev_info *", {
            "device_id": device.device_id,
            "cfg_size": len(self.config) if tell_config_size else 0,
            "irq": standard and bool(device.features & (1 << std_wire.F_IRQ)),
            "indirect": indirect,
            "legacy": legacy,
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
        if not standard:
            queues = (id30_wire.VQ_RX, id30_wire.VQ_TX)
        elif self.info.irq:
            queues = (std_wire.VQ_REQUEST, std_wire.VQ_EVENT)
        else:
            queues = (std_wire.VQ_REQUEST,)  # no F_IRQ, no eventq
        self.rings = {}
        self._queues = queues
        self._ring_size = ring_size
        self._tx_interrupts = tx_interrupts
        self._indirect = indirect
        self._make_rings()
        self.notifications = {vq: 0 for vq in queues}
        #: queue callbacks the device raised, per queue
        self.interrupts = {vq: 0 for vq in queues}
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

    def _make_rings(self):
        for vq in self._queues:
            try:
                self.rings[vq] = SimRing(self, vq, self._ring_size)
            except MemoryError:
                self.close()
                raise
            lib.simvq_set_indirect(self.rings[vq].ring, self._indirect)
            self.host.vq[vq] = self.rings[vq].ring
        self.loop = loop_for(self.device, self.rings,
                             tx_interrupts=self._tx_interrupts)

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
        return [chain.readable for chain in self.loop.take_requests()]

    def deliver(self, messages):
        """Queue ID 30 device->driver messages and move them into rx buffers."""
        self.loop.deliver(messages)

    def run(self):
        """One round of device work: answer all queued requests. First
        the deferred arms the core asked for, as the kernel's workqueue
        would have run them meanwhile."""
        self.run_deferred_arms()
        return self.loop.run()

    def run_deferred_arms(self):
        """Run vgpio_irq_arm_pending() if the core asked for it: soon
        (arm_later), or again after a failed post (arm_retry), whose delay
        has passed by the time the device runs again."""
        if (self.host.arm_pending or self.host.arm_retries) and \
                self.core != ffi.NULL:
            self.host.arm_pending = 0
            self.host.arm_retries = 0
            lib.vgpio_irq_arm_pending(self.core)
            self.reraise()

    def set_input(self, line, level):
        """Drive an input line of the device and deliver what it causes."""
        self.loop.set_input(line, level)

    def release_delayed(self):
        """Deliver the replies the device held back."""
        self.loop.release_delayed()

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

    def flush(self):
        """Move what the device says unasked (events the model queued)
        into the driver's buffers."""
        self.loop.flush()

    def check_probe(self):
        """Raise what the transport saw go wrong during the probe: config
        reads beyond the window it serves."""
        if self.host.cfg_reads_past_window:
            raise errors.ConfigWindowOverrun(
                "%d config reads past the %d bytes the transport serves"
                % (self.host.cfg_reads_past_window, self.host.cfg_window))

    def reset_device(self):
        """Reset the device and delete its queues, as a driver's freeze
        does: the rings and every buffer on them are gone (a post until
        :meth:`create_queues` fails with EINVAL), and the device model
        forgets what it was told."""
        for vq in self.rings:
            self.loop.ring_stopped(vq)
        self.close()
        self.device.reset()

    def create_queues(self):
        """Fresh, empty rings after :meth:`reset_device`, as a driver's
        restore finds them."""
        self._make_rings()

    def close(self):
        """Free the rings; the core must be destroyed first."""
        for vq, ring in self.rings.items():
            if ring.ring != ffi.NULL:
                self.host.vq[vq] = ffi.NULL
                ring.free()


def simulated_chip(lines=8, name="virtio-gpio-sim", ring_size=16,
                   tx_interrupts=True, config_fault=None, protocol="id30",
                   irq=True, indirect=False):
    """A :class:`~virtio_gpio.chip.Chip` on a fresh device model behind
    simulated rings.

    ``protocol`` "id30" gives a :class:`~virtio_gpio.devices.id30.Id30Device`
    named ``name``; "standard" a
    :class:`~virtio_gpio.devices.standard.StandardDevice` (which has no
    device name) offering interrupts when ``irq``; ``indirect`` as for
    :class:`SimTransport`.
    """
    if protocol == "id30":
        device = Id30Device(lines, name=name, config_fault=config_fault)
    elif protocol == "standard":
        device = StandardDevice(lines, irq=irq, config_fault=config_fault)
    else:
        raise ValueError("protocol must be one of %s" % (PROTOCOLS,))
    transport = SimTransport(device, ring_size=ring_size,
                             tx_interrupts=tx_interrupts, indirect=indirect)
    try:
        return Chip(transport)
    except BaseException:
        transport.close()
        raise
