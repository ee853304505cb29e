"""The backend process's loop: the listening socket, one front end at a
time, kicks, the control socket and input scripts."""

import json
import logging
import os
import selectors
import socket
import struct
import time
from typing import Dict, List, Optional

from ..devices.base import Fault
from ..devices.floor import FloorDevice
from .connection import Connection
from .control import read_line
from .control_server import ControlCommands
from .protocol import ProtocolError

log = logging.getLogger(__name__)


class Backend:
    """Listens on ``socket_path`` and serves ``device`` to one front end at a time."""

    def __init__(self, device, socket_path, control_path=None, once=False):
        self.device = device
        self.socket_path = socket_path
        self.control_path = control_path
        self.once = once
        self.selector = selectors.DefaultSelector()
        self.conn: Optional[Connection] = None
        self.running = True
        self.commands = ControlCommands(self)
        #: line -> when the host last drove it (time.time())
        self.toggles: Dict[int, float] = {}
        self.script: List = []
        self.connections = 0
        #: what answers the guest: the model, or the bench's floor over it
        self.serving = device

    def watch_kick(self, fd, conn, vring):
        os.set_blocking(fd, False)
        self.selector.register(fd, selectors.EVENT_READ, ("kick", conn, vring))

    def unwatch(self, fd):
        try:
            self.selector.unregister(fd)
        except (KeyError, ValueError):
            pass

    def _listen(self, path):
        # Bound and listening under a temporary name, then renamed: once
        # the path exists, connecting to it works (no ECONNREFUSED race).
        tmp = "%s.%d.tmp" % (path, os.getpid())
        if os.path.exists(tmp):
            os.unlink(tmp)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(tmp)
        server.listen(4)
        os.replace(tmp, path)
        return server

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

    def set_floor(self, on):
        """Answer requests with the bench's floor instead of the model."""
        self.serving = FloorDevice(self.device) if on else self.device
        if self.conn is not None:
            self.conn.loop.device = self.serving

    def _on_control(self, server):
        client, _ = server.accept()
        with client:
            client.settimeout(5.0)
            try:
                answer = self.commands.answer(read_line(client))
                client.sendall(json.dumps(answer).encode() + b"\n")
            except OSError as exc:
                log.warning("control client: %s", exc)

    def serve(self):
        """Run until stopped, or until the front end leaves with ``once``."""
        server = self._listen(self.socket_path)
        self.selector.register(server, selectors.EVENT_READ, ("accept",))
        control = None
        if self.control_path:
            control = self._listen(self.control_path)
            self.selector.register(control, selectors.EVENT_READ, ("control",))
        log.info("listening on %s", self.socket_path)
        start = time.monotonic()
        try:
            while self.running:
                timeout = None
                if self.script:
                    timeout = max(0.0, self.script[0][0] - (time.monotonic() - start))
                for key, _ in self.selector.select(timeout):
                    self._dispatch(key, server, control)
                while self.script and self.script[0][0] <= time.monotonic() - start:
                    _, line, level = self.script.pop(0)
                    log.info("script: line %d -> %d", line, level)
                    self.set_input(line, level)
        finally:
            self._drop()
            self.selector.close()
            server.close()
            os.unlink(self.socket_path)
            if control is not None:
                control.close()
                os.unlink(self.control_path)
        log.info("stopped")

    def _dispatch(self, key, server, control):
        kind = key.data[0]
        if kind == "accept":
            sock, _ = server.accept()
            if self.conn is not None:
                log.warning("second front end refused")
                sock.close()
                return
            self.connections += 1
            log.info("front end connected (%d)", self.connections)
            self.conn = Connection(self, sock)
            self.selector.register(sock, selectors.EVENT_READ, ("conn",))
        elif kind == "control":
            self._on_control(control)
        elif kind == "conn":
            try:
                alive = self.conn.receive()
            except (ProtocolError, OSError, struct.error) as exc:
                log.error("front end error: %s", exc)
                alive = False
            if not alive:
                log.info("front end went away")
                self._drop()
                if self.once:
                    self.running = False
        elif kind == "kick":
            _, conn, vring = key.data
            try:
                os.read(key.fd, 8)
            except BlockingIOError:
                return
            try:
                conn.process()
            except ProtocolError as exc:
                log.error("ring error: %s", exc)

    def _drop(self):
        if self.conn is None:
            return
        for vring in self.conn.vrings:
            if vring.kick_fd is not None:
                self.unwatch(vring.kick_fd)
        self.unwatch(self.conn.sock)
        self.conn.close()
        self.conn = None

    def stop(self, *_):
        self.running = False
