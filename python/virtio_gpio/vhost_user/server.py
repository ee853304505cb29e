"""The backend process's loop: one selector for every device's socket,
front end and kicks, the control socket and its clients, and timers.

Line events of every device are stamped here (time, device, line name)
and handed to the control socket's subscribers and waiters and to the
recorders (a waveform trace).
"""

import heapq
import itertools
import logging
import os
import selectors
import struct
import time
from typing import Callable, List

from .backend import Backend, listen
from .control_server import ControlClient, ControlCommands
from .protocol import ProtocolError

log = logging.getLogger(__name__)

#: how long one front end's message may take to arrive, or its reply to
#: be taken, before the front end is dropped
FRONT_END_TIMEOUT = 5.0
#: control clients at once: each holds a descriptor, and the process has
#: a limited number
MAX_CONTROL_CLIENTS = 64


class Server:
    """Serves ``backends`` from one process until stopped.

    :param control_path: a control socket taking JSON commands
    :param once: stop when the last front end leaves
    :param recorders: objects with ``record(event)`` and ``close()``, given
        every stamped line event
    """

    def __init__(self, backends: List[Backend], control_path=None, once=False,
                 recorders=()):
        names = [backend.name for backend in backends]
        if not backends or len(set(names)) != len(names):
            raise ValueError("devices need distinct names, got %s" % names)
        self.backends = list(backends)
        self.control_path = control_path
        self.once = once
        self.recorders = list(recorders)
        self.selector = selectors.DefaultSelector()
        self.running = True
        self.commands = ControlCommands(self)
        self.control = None
        self.subscribers: List[ControlClient] = []
        #: every control client connected now
        self.clients = set()
        #: each listening socket -> its selector key's data
        self._listening = {}
        self._timers: List = []
        self._order = itertools.count()
        for backend in self.backends:
            backend.server = self
            backend.device.listeners.append(
                lambda event, backend=backend: self._on_line_event(backend,
                                                                   event))
        #: callables given every stamped event (waiters)
        self.event_hooks: List[Callable] = []

    # -- what backends and commands ask ----------------------------------

    def backend(self, name=None) -> Backend:
        """The backend called ``name`` (or with that index); the only one
        when ``name`` is None. Raises ValueError naming the choices."""
        if name is None:
            if len(self.backends) == 1:
                return self.backends[0]
            raise ValueError("several devices: name one of %s"
                             % ", ".join(b.name for b in self.backends))
        for index, backend in enumerate(self.backends):
            if name == backend.name or name == index:
                return backend
        raise ValueError("no device %r: the devices are %s"
                         % (name, ", ".join(b.name for b in self.backends)))

    def call_later(self, delay, callback):
        """Run ``callback()`` after ``delay`` seconds, from the loop."""
        heapq.heappush(self._timers, (time.monotonic() + max(0.0, delay),
                                      next(self._order), callback))

    def watch_kick(self, fd, conn, vring):
        os.set_blocking(fd, False)
        self.selector.register(fd, selectors.EVENT_READ, ("kick", conn, vring))

    def unwatch(self, fd):
        try:
            self.selector.unregister(fd)
        except (KeyError, ValueError):
            pass

    def stop(self, *_):
        self.running = False

    # -- events ------------------------------------------------------------

    def _on_line_event(self, backend, event):
        lines = backend.device.lines
        stamped = dict(event.as_dict(), time=time.time(), device=backend.name,
                       name=lines[event.line].name
                       if 0 <= event.line < len(lines) else "")
        for recorder in list(self.recorders):
            try:
                recorder.record(stamped)
            except Exception:  # noqa: BLE001 - a recorder never stops the device
                log.exception("recorder %r failed; it is dropped", recorder)
                self.recorders.remove(recorder)
        backend.history.append(stamped)
        for client in list(self.subscribers):
            client.deliver(stamped)
        for hook in list(self.event_hooks):
            hook(stamped)

    # -- the loop ------------------------------------------------------------

    def open(self):
        """Listen on every socket, or on none: a failure closes what was
        opened and raises."""
        try:
            for backend in self.backends:
                self._watch_listener(backend.open(), ("accept", backend))
            if self.control_path:
                self.control = listen(self.control_path)
                self._watch_listener(self.control, ("control",))
        except BaseException:
            self.close()
            raise

    def serve(self):
        """Run until stopped, or until the front ends leave with ``once``."""
        if self.control is None and not any(b.listener for b in self.backends):
            self.open()
        try:
            while self.running:
                timeout = None
                if self._timers:
                    timeout = max(0.0, self._timers[0][0] - time.monotonic())
                for key, mask in self.selector.select(timeout):
                    self._dispatch(key, mask)
                while self._timers and self._timers[0][0] <= time.monotonic():
                    _, _, callback = heapq.heappop(self._timers)
                    self._run_timer(callback)
        finally:
            self.close()
        log.info("stopped")

    def _run_timer(self, callback):
        try:
            callback()
        except Exception:  # noqa: BLE001 - a generator, not the process
            log.exception("timer %r failed", callback)

    def close(self):
        for client in list(self.clients):
            client.close()
        for backend in self.backends:
            if backend.listener is not None:
                self.unwatch(backend.listener)
            backend.close()
        if self.control is not None:
            self.unwatch(self.control)
            self.control.close()
            self.control = None
            if os.path.lexists(self.control_path):
                os.unlink(self.control_path)
        for recorder in self.recorders:
            recorder.close()
        self.recorders = []

    def _dispatch(self, key, mask):
        kind = key.data[0]
        if kind == "accept":
            backend = key.data[1]
            sock = self._accept(backend.listener, backend.accept)
            if sock is not None:
                # A front end that stops mid-message costs the other
                # devices this long at most.
                sock.settimeout(FRONT_END_TIMEOUT)
                self.selector.register(sock, selectors.EVENT_READ,
                                       ("conn", backend))
        elif kind == "control":
            accepted = self._accept(self.control, self.control.accept)
            if accepted is None:
                return
            if len(self.clients) >= MAX_CONTROL_CLIENTS:
                log.warning("control: %d clients already; one refused",
                            len(self.clients))
                accepted[0].close()
                return
            ControlClient(self, accepted[0])
        elif kind == "client":
            key.data[1].ready(mask)
        elif kind == "conn":
            self._receive(key.data[1])
        elif kind == "kick":
            self._kick(key)

    def _accept(self, listener, accept):
        """``accept()``, or None; out of file descriptors, the listener
        rests a second rather than wake the loop in vain."""
        try:
            return accept()
        except OSError as exc:
            log.warning("accept on %s: %s", listener.getsockname(), exc)
            self.unwatch(listener)
            self.call_later(1.0, lambda: self._rewatch(listener))
            return None

    def _watch_listener(self, listener, data):
        self._listening[listener] = data
        self.selector.register(listener, selectors.EVENT_READ, data)

    def _rewatch(self, listener):
        if listener.fileno() >= 0:     # not closed meanwhile
            self.selector.register(listener, selectors.EVENT_READ,
                                   self._listening[listener])

    def _kick(self, key):
        _, conn, vring = key.data
        backend = conn.backend
        # A message earlier in this select() batch may have replaced or
        # closed this kick fd: only the ring's current one is read.
        if backend.conn is not conn or vring.kick_fd != key.fd:
            return
        try:
            if not os.read(key.fd, 8):
                raise ProtocolError("queue %d: its kick fd was closed"
                                    % vring.index)
        except BlockingIOError:
            return
        except (OSError, ProtocolError) as exc:
            log.error("%s: kick: %s; front end dropped", backend.name, exc)
            self._front_end_left(backend)
            return
        try:
            conn.process()
        except ProtocolError as exc:
            log.error("%s: ring error: %s; front end dropped", backend.name,
                      exc)
            self._front_end_left(backend)
        except Exception:  # noqa: BLE001 - one device, not the process
            log.exception("%s: serving failed; front end dropped",
                          backend.name)
            self._front_end_left(backend)

    def _receive(self, backend):
        try:
            alive = backend.conn.receive()
        except (ProtocolError, OSError, struct.error) as exc:
            log.error("%s: front end error: %s", backend.name, exc)
            alive = False
        except Exception:  # noqa: BLE001 - one device, not the process
            log.exception("%s: a message failed; front end dropped",
                          backend.name)
            alive = False
        if not alive:
            self._front_end_left(backend)

    def _front_end_left(self, backend):
        if backend.conn is None:
            return
        probe = backend.conn.messages == 0
        log.info("%s: front end went away%s", backend.name,
                 " (it sent nothing: a probe)" if probe else "")
        backend.drop()
        if (self.once and not probe and
                all(b.conn is None for b in self.backends)):
            self.running = False
