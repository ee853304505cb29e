"""Attach vhost-user GPIO backends to a running QEMU, and attach them
again after a backend restarts.

Each backend socket gets a ``vhost-user-gpio-pci`` device by hot-plug
over QMP (:mod:`virtio_gpio.guests.qmp`): ``chardev-add`` of a socket
client, then ``device_add``. The ``chardev-add`` is the test of whether a
backend listens: it connects, and fails while the path is missing or
nobody accepts on it. Probing with a connection of our own instead would
take the backend's one front-end place for a moment and could get
QEMU's connection refused. So the start order does not matter: a
backend that comes up later is attached when it does.

QEMU 10's vhost-user-gpio cannot reconnect by itself. Its device
(vhost-user-base) sets the vhost-user device up once, when it is
realized; after the socket closes it tears the connection down and never
sets it up again, even when the chardev connects anew. And the
chardev option that would connect anew, ``reconnect-ms=`` (or the older
``reconnect=``), makes QEMU exit at start ("vhost_backend_init failed:
Protocol error"): such a chardev connects in the background, so the
device finds no connection when it is realized. No QMP event says that a
vhost-user connection dropped either; only ``query-chardev`` shows it, by
a ``filename`` that starts with ``disconnected:``. So :class:`Hotplug` polls ``query-chardev``; when a
backend's connection dropped and a new ``chardev-add`` on its path
succeeds (the backend listens again), it unplugs the old device
(``device_del``, then the ``DEVICE_DELETED`` event once the guest let it
go), removes the old chardev and plugs a new device on the new one: the
guest sees the chip go and a new one come, and probes it afresh.
"""

import os
import stat
import threading

from .qmp import QMPError

#: seconds between two looks at the backends
POLL_INTERVAL = 0.2
#: how long the guest may take to release an unplugged device
UNPLUG_TIMEOUT = 30.0
DEVICE = "vhost-user-gpio-pci"


def is_socket(path):
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


class Slot:
    """One backend: its socket and what is plugged for it now."""

    def __init__(self, index, path):
        self.index = index
        self.path = path
        self.generation = 0
        #: QEMU ids of the chardev and the device, None while unplugged
        self.chardev = None
        self.device = None
        #: how many times the device was plugged
        self.plugs = 0
        #: why the last attempt to attach failed, for the timeout message
        self.waiting_for = "its socket %s to appear" % path
        self.dropped = False
        #: whether the wait for the first plug was reported
        self.announced = False
        self.failed = None

    def next_ids(self):
        """QEMU ids (chardev, device) for the next plug: a new pair each
        time, as the old ones may still be in use while it is set up."""
        base = "vgpio%d-g%d" % (self.index, self.generation + 1)
        return base + "-chr", base


class Hotplug:
    """Plugs every backend in ``paths`` into the QEMU behind ``qmp`` as it
    appears, and again after it restarts, in a thread of its own that
    owns ``qmp``. ``say(message)`` reports each change."""

    def __init__(self, qmp, paths, say):
        self.qmp = qmp
        self.slots = [Slot(n, path) for n, path in enumerate(paths)]
        self.say = say
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        #: the exception that ended the thread, if one did
        self.error = None

    def start(self):
        self._thread.start()

    def stop(self, timeout=5.0):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def pending(self):
        """The slots not plugged yet, each with what it waits for."""
        return [s for s in self.slots if s.device is None]

    def why_unplugged(self):
        """What keeps the devices from the guest, for a message."""
        if self.error is not None:
            return "hot-plug stopped: %s" % (self.error,)
        return ("; ".join("%s: waiting for %s" % (s.path, s.waiting_for)
                          for s in self.pending()) or
                "every device plugged: the guest did not bind them")

    def _run(self):
        try:
            while not self._stop.is_set():
                self._look()
                self._stop.wait(POLL_INTERVAL)
        except (OSError, ValueError) as exc:
            # QEMU went away (its QMP socket closed), or did not answer
            # in time: nothing more is watched, and the user is told.
            self.error = exc
            if not self._stop.is_set():
                self.say("hot-plug stopped: %s" % (exc,))
        except QMPError as exc:
            self.error = exc
            self.say("hot-plug stopped: %s" % exc)

    def _look(self):
        # Only DEVICE_DELETED is waited for, right after its device_del;
        # the rest (RTC_CHANGE, the virtio backend's own DEVICE_DELETED)
        # would pile up.
        self.qmp.events.clear()
        filenames = None
        for slot in self.slots:
            if slot.failed:
                continue
            if slot.device is None:
                self._plug(slot)
                continue
            if filenames is None:
                filenames = {c["label"]: c["filename"]
                             for c in self.qmp.command("query-chardev")}
            if filenames.get(slot.chardev, "").startswith("disconnected:"):
                self._replug(slot)

    def _connect(self, slot):
        """A new chardev connected to the backend, or None while it does
        not listen."""
        if not is_socket(slot.path):
            slot.waiting_for = "its socket %s to appear" % slot.path
            return None
        chardev, device = slot.next_ids()
        try:
            self.qmp.command("chardev-add", id=chardev, backend={
                "type": "socket", "data": {
                    "addr": {"type": "unix", "data": {"path": slot.path}},
                    "server": False}})
        except QMPError as exc:
            slot.waiting_for = "a backend listening on %s (%s)" % (
                slot.path, exc.desc)
            return None
        slot.generation += 1
        return chardev, device

    def _add_device(self, slot, chardev, device):
        try:
            self.qmp.command("device_add", driver=DEVICE, id=device,
                             chardev=chardev)
        except QMPError as exc:
            # The backend went away between the two commands, or refused
            # the set-up: try again with a new connection.
            self.qmp.command("chardev-remove", id=chardev)
            slot.waiting_for = "%s on %s (%s)" % (DEVICE, slot.path,
                                                  exc.desc)
            return False
        slot.chardev, slot.device = chardev, device
        slot.plugs += 1
        return True

    def _plug(self, slot):
        ids = self._connect(slot)
        if ids is not None and self._add_device(slot, *ids):
            self.say("attached %s as %s" % (slot.path, slot.device))
        elif not slot.announced:
            self.say("waiting for %s" % slot.waiting_for)
        slot.announced = True

    def _replug(self, slot):
        if not slot.dropped:
            slot.dropped = True
            self.say("backend of %s went away: %s waits for it to listen "
                     "again" % (slot.path, slot.device))
        ids = self._connect(slot)
        if ids is None:
            return
        old = slot.device
        self.qmp.command("device_del", id=old)
        try:
            self.qmp.wait_event("DEVICE_DELETED", timeout=UNPLUG_TIMEOUT,
                                match=lambda data: data.get("device") == old)
        except TimeoutError:
            self.qmp.command("chardev-remove", id=ids[0])
            slot.failed = ("the guest did not release %s within %.0f s "
                           "after device_del" % (old, UNPLUG_TIMEOUT))
            self.say("%s: %s; not re-plugged" % (slot.path, slot.failed))
            return
        self.qmp.command("chardev-remove", id=slot.chardev)
        slot.chardev = slot.device = None
        slot.dropped = False
        if self._add_device(slot, *ids):
            self.say("re-plugged %s as %s" % (slot.path, slot.device))
