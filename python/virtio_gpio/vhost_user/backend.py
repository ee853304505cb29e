"""One device served on one vhost-user socket, to one front end at a time.

A :class:`Backend` owns its listening socket, its front end's connection
and what the host does to its device (inputs, faults, the bench's floor).
It does not loop: a :class:`~.server.Server` runs one selector for every
backend of the process, its timers and its control socket.
"""

import collections
import errno
import logging
import os
import socket
import stat
import time
from typing import Dict, Optional

from ..devices.base import Fault
from ..devices.driver_checker import DriverChecker, write_report
from ..devices.floor import FloorDevice
from .connection import Connection
from .protocol import ProtocolError

log = logging.getLogger(__name__)

#: how many line events ``state`` shows
HISTORY = 100


class SocketInUse(OSError):
    """Another live process listens on the path."""


def listen(path):
    """A listening UNIX socket at ``path``.

    A socket file left by a backend that was killed is replaced; one a live
    process still listens on is not (:class:`SocketInUse`), nor is a path
    that is not a socket. It is bound under a temporary name and renamed,
    so once the path exists, connecting to it works.
    """
    if os.path.lexists(path):
        if not _is_socket(path):
            raise FileExistsError(errno.EEXIST, "exists and is not a socket",
                                  path)
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except ConnectionRefusedError:
            log.info("%s: replacing a stale socket", path)
        except OSError:
            pass
        else:
            raise SocketInUse(errno.EADDRINUSE, "another process listens on it",
                              path)
        finally:
            probe.close()
    tmp = "%s.%d.tmp" % (path, os.getpid())
    if os.path.lexists(tmp):
        os.unlink(tmp)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(tmp)
        server.listen(4)
        os.replace(tmp, path)
    except BaseException:
        server.close()
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    return server


def _is_socket(path):
    return stat.S_ISSOCK(os.lstat(path).st_mode)


class Backend:
    """Serves ``device`` on ``socket_path`` as the device ``name``."""

    def __init__(self, device, socket_path, name="gpio0"):
        self.device = device
        self.socket_path = socket_path
        self.name = name
        self.conn: Optional[Connection] = None
        self.connections = 0
        #: line -> when the host last drove it (time.time())
        self.toggles: Dict[int, float] = {}
        #: the latest line events, stamped, oldest first
        self.history = collections.deque(maxlen=HISTORY)
        #: what answers the guest: the model, or the bench's floor over it,
        #: behind the driver checker if there is one
        self.serving = device
        #: the driver checker, and where its report goes at each disconnect
        self.checker = None
        self.check_report = None
        #: the server whose selector watches this backend's descriptors
        self.server = None
        self.listener: Optional[socket.socket] = None
        #: requests stay on their ring, unanswered, until resumed or until
        #: the front end goes
        self.stalled = False

    # -- what the host does ----------------------------------------------

    def set_input(self, line, level):
        """Drive an input line; its event goes to the driver at once.
        Returns whether the level changed."""
        before = self.device.lines[line].value
        if self.conn is not None:
            self.conn.loop.set_input(line, level)
        else:
            self.device.set_input(line, level)
        self.toggles[line] = time.time()
        return before != level

    def inject(self, fault, count=1):
        """Make the device misbehave ``count`` times."""
        self.device.inject(fault, count)
        if self.conn is not None and fault is Fault.FORGED_EVENT:
            # Needs no reply to ride on: it goes out now.
            self.conn.loop.flush()

    def stall(self, on):
        """Stop answering requests (they wait on the ring) until resumed
        or until the front end goes, or resume: then everything the driver
        queued meanwhile is answered."""
        self.stalled = on
        if not on and self.conn is not None:
            try:
                self.conn.process()
            except ProtocolError as exc:
                # As a kick that finds a bad chain: that front end goes.
                log.error("%s: ring error: %s; front end dropped", self.name,
                          exc)
                self.server._front_end_left(self)

    def set_floor(self, on):
        """Answer requests with the bench's floor instead of the model."""
        self._serve(FloorDevice(self.device) if on else self.device)

    def check_driver(self, report_path):
        """Check the driver against the spec's driver requirements while
        serving; the report is written at each disconnect."""
        answering = self.serving if self.checker is None \
            else self.checker.model
        self.checker = DriverChecker(
            answering, features=lambda: self.conn.features
            if self.conn is not None else 0)
        self.check_report = report_path
        self._serve(answering)

    def _serve(self, answering):
        if self.checker is not None:
            self.checker.model = answering
            answering = self.checker
        self.serving = answering
        if self.conn is not None:
            self.conn.loop.device = self.serving

    # -- what the server asks ----------------------------------------------

    def open(self):
        self.listener = listen(self.socket_path)
        log.info("%s: listening on %s", self.name, self.socket_path)
        return self.listener

    def accept(self):
        """A front end connects; returns its socket, or None if refused."""
        sock, _ = self.listener.accept()
        if self.conn is not None:
            log.warning("%s: second front end refused", self.name)
            sock.close()
            return None
        self.connections += 1
        log.info("%s: front end connected (%d)", self.name, self.connections)
        self.conn = Connection(self, sock)
        return sock

    def watch_kick(self, fd, conn, vring):
        self.server.watch_kick(fd, conn, vring)

    def unwatch(self, fd):
        self.server.unwatch(fd)

    def drop(self):
        """The front end is gone: its rings and fds with it."""
        if self.conn is None:
            return
        for vring in self.conn.vrings:
            if vring.kick_fd is not None:
                self.unwatch(vring.kick_fd)
        self.unwatch(self.conn.sock)
        spoke = self.conn.messages > 0
        self.conn.close()
        self.conn = None
        if spoke and self.stalled:
            # A stall plays a device hanging under the driver that uses
            # it. The next front end (a rebooted guest, a new QEMU) powers
            # up a device of its own: one hung from before it came, by
            # nothing its run asked for, would look like a broken backend
            # and test nothing. A front end that said nothing was a probe,
            # not the one a stall set beforehand waits for; a device reset
            # within the connection keeps the stall, as recovering from it
            # is what the driver is being tested on.
            log.info("%s: the stall ends with its front end", self.name)
            self.stalled = False
        if self.checker is not None and spoke:
            self._write_check()
        if self.checker is not None:
            self.checker.driver_left()

    def _write_check(self):
        try:
            write_report(self.check_report, self.checker.rows())
        except OSError as exc:
            log.error("%s: driver check not written to %s: %s", self.name,
                      self.check_report, exc)
            return
        log.info("%s: driver check written to %s (%s)", self.name,
                 self.check_report, ", ".join(
                     self.checker.failed()) or "no requirement broken")

    def close(self):
        self.drop()
        if self.listener is not None:
            self.listener.close()
            self.listener = None
            if os.path.lexists(self.socket_path):
                os.unlink(self.socket_path)
