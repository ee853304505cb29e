"""The control socket, served: one JSON object per line in, JSON out.

Each connection sends one command and gets one answer, except
``subscribe`` (the answer, then one line per line event until the client
hangs up) and ``wait`` (the answer comes when the line reaches the level,
or at the timeout). Anyone who can write to the socket can send anything:
every field is checked, a bad command gets ``{"error": ...}`` and the
backend serves on; a client that sends too much, or reads too slowly, is
dropped.
"""

import json
import logging
import math
import selectors
import time

from ..devices.base import MAX_QUEUED_FAULTS, Fault
from ..devices.standard import IRQ_TYPE_NAMES

log = logging.getLogger(__name__)

#: the longest request line, and the most output a client may fall behind
MAX_REQUEST = 64 * 1024
MAX_BACKLOG = 4 * 1024 * 1024
#: the longest ``wait``, in seconds
MAX_WAIT = 24 * 3600.0


class CommandError(ValueError):
    """A command that cannot be carried out, with the reason."""


def _field(command, key, kind, default=None, required=True):
    if key not in command:
        if required:
            raise CommandError("%r needs %r" % (command["cmd"], key))
        return default
    value = command[key]
    # bool is an int to Python, never to us
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise CommandError("%r must be an integer, not %s"
                           % (key, json.dumps(value)))
    if kind is float and not _finite_number(value):
        raise CommandError("%r must be a number, not %s"
                           % (key, json.dumps(value)[:40]))
    if kind is str and not isinstance(value, str):
        raise CommandError("%r must be a string, not %s"
                           % (key, json.dumps(value)))
    if kind is bool and not isinstance(value, bool):
        raise CommandError("%r must be true or false, not %s"
                           % (key, json.dumps(value)))
    return value


def _finite_number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:     # an integer beyond any float
        return False


def _device_field(command):
    device = command.get("device")
    if device is not None and (isinstance(device, bool) or
                               not isinstance(device, (str, int))):
        raise CommandError("'device' must be a name or an index, not %s"
                           % json.dumps(device))
    return device


def _line_field(command, backend):
    line = _field(command, "line", int)
    count = len(backend.device.lines)
    if not 0 <= line < count:
        raise CommandError("line %d out of range: %s has lines 0..%d"
                           % (line, backend.name, count - 1))
    return line


def _level_field(command):
    level = _field(command, "level", int)
    if level not in (0, 1):
        raise CommandError("'level' must be 0 or 1, not %d" % level)
    return level


def line_state(line):
    """One line of a ``state`` answer, in the words line events use."""
    out = {"name": line.name, "direction": line.direction.name.lower(),
           "value": line.value}
    if hasattr(line, "irq_type"):
        out["irq"] = IRQ_TYPE_NAMES[line.irq_type]
    if hasattr(line, "requested"):
        out["requested"] = line.requested
    return out


class ControlCommands:
    """What ``vgpio-ctl`` and :mod:`virtio_gpio.host` can ask of a server."""

    def __init__(self, server):
        self.server = server

    def answer(self, data, client):
        """The answer to one request line: a dict, or None when the
        client is answered later (``wait``) or streamed to
        (``subscribe``)."""
        try:
            command = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            return {"error": "not JSON: %s" % exc}
        except RecursionError:  # json recurses per nesting level
            return {"error": "not JSON this backend reads: nested too deep"}
        if not isinstance(command, dict):
            return {"error": "a command is a JSON object, not %s"
                    % json.dumps(command)[:40]}
        name = command.get("cmd")
        handler = getattr(self, "do_%s" % name, None) \
            if isinstance(name, str) else None
        if handler is None:
            return {"error": "unknown command %s; the commands are %s" % (
                json.dumps(name)[:40], ", ".join(sorted(
                    n[3:] for n in dir(self) if n.startswith("do_"))))}
        try:
            return handler(command, client)
        except CommandError as exc:
            return {"error": str(exc)}
        except ValueError as exc:  # from the model: "line 1 is an output"
            return {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - no client stops the server
            log.exception("control command %s failed", json.dumps(name))
            return {"error": "%s failed: %s: %s" % (
                name, type(exc).__name__, exc)}

    def _backend(self, command):
        try:
            return self.server.backend(_device_field(command))
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    def do_set_input(self, command, client):
        backend = self._backend(command)
        line, level = _line_field(command, backend), _level_field(command)
        changed = backend.set_input(line, level)
        return {"ok": True, "changed": changed,
                "time": backend.toggles[line]}

    def do_state(self, command, client):
        backend = self._backend(command)
        device = backend.device
        return {"device": backend.name,
                "lines": [line_state(line) for line in device.lines],
                "requests": device.requests_seen,
                "connected": backend.conn is not None,
                "connections": backend.connections,
                "stalled": backend.stalled,
                "host_changed": {str(k): v for k, v in backend.toggles.items()},
                "history": list(backend.history)}

    def do_devices(self, command, client):
        return {"devices": [{"name": b.name, "socket": b.socket_path,
                             "lines": len(b.device.lines),
                             "connected": b.conn is not None}
                            for b in self.server.backends]}

    def do_inject(self, command, client):
        backend = self._backend(command)
        name = _field(command, "fault", str)
        try:
            fault = Fault(name)
        except ValueError:
            raise CommandError("unknown fault %r; the faults are %s" % (
                name, ", ".join(f.value for f in Fault))) from None
        count = _field(command, "count", int, default=1, required=False)
        if not 1 <= count <= MAX_QUEUED_FAULTS:
            raise CommandError("'count' must be 1..%d, not %d"
                               % (MAX_QUEUED_FAULTS, count))
        backend.inject(fault, count)
        return {"ok": True}

    def do_stop(self, command, client):
        self.server.stop()
        return {"ok": True}

    def do_noop(self, command, client):
        backend = self._backend(command)
        backend.set_floor(_field(command, "on", bool, default=True,
                                 required=False))
        return {"ok": True}

    def do_stall(self, command, client):
        backend = self._backend(command)
        backend.stall(_field(command, "on", bool, default=True,
                             required=False))
        return {"ok": True}

    def do_subscribe(self, command, client):
        devices = command.get("devices")
        if devices is not None:
            if not isinstance(devices, list) or not devices:
                raise CommandError("'devices' must be a list naming at "
                                   "least one device")
            for name in devices:
                self._backend({"device": name})
        client.subscribe(None if devices is None else
                         {self._backend({"device": d}).name for d in devices})
        return None

    def do_wait(self, command, client):
        backend = self._backend(command)
        line, level = _line_field(command, backend), _level_field(command)
        timeout = _field(command, "timeout", float)
        if not 0 <= timeout <= MAX_WAIT:
            raise CommandError("'timeout' must be 0..%d seconds" % MAX_WAIT)
        if backend.device.lines[line].value == level:
            return {"ok": True, "time": time.time()}
        client.wait(backend, line, level, timeout)
        return None


class ControlClient:
    """One connection to the control socket, non-blocking both ways."""

    def __init__(self, server, sock):
        self.server = server
        self.sock = sock
        self.inbox = b""
        self.outbox = b""
        self.answered = False
        self.devices = None
        self.done = False
        #: the client shut its sending side (socat, nc -N): nothing more
        #: to read, but a wait's answer or a stream still goes out
        self.reading = True
        self._hook = None
        sock.setblocking(False)
        server.clients.add(self)
        server.selector.register(sock, selectors.EVENT_READ,
                                 ("client", self))

    def ready(self, mask):
        # Closed earlier in the same select() batch (a send to it failed
        # while an event went out): nothing is left to do.
        if self.sock is None:
            return
        if mask & selectors.EVENT_READ:
            self._read()
        if self.sock is not None and mask & selectors.EVENT_WRITE:
            self._flush()

    def _read(self):
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            if not self.answered and self.inbox.strip():
                self._answer(self.inbox)  # a last line without a newline
            if self.sock is None:
                return
            if not self.answered or self.done:
                self.close()
                return
            self.reading = False
            self._watch()
            return
        if self.answered:
            return  # one command per connection; the rest is ignored
        self.inbox += data
        if b"\n" in self.inbox:
            self._answer(self.inbox.split(b"\n", 1)[0])
        elif len(self.inbox) > MAX_REQUEST:
            self._answer_now({"error": "request longer than %d bytes"
                              % MAX_REQUEST})

    def _answer(self, line):
        self.answered = True
        answer = self.server.commands.answer(line, self)
        if answer is not None:
            self._answer_now(answer)

    def _answer_now(self, answer):
        self.answered = True
        self.send(answer)
        self.done = True
        if not self.outbox:
            self.close()

    def send(self, obj):
        if self.sock is None:
            return
        self.outbox += json.dumps(obj).encode() + b"\n"
        if len(self.outbox) > MAX_BACKLOG:
            log.warning("control client falls behind; dropped")
            self.close()
            return
        self._flush()

    def _flush(self):
        try:
            sent = self.sock.send(self.outbox)
        except BlockingIOError:
            sent = 0
        except OSError:
            self.close()
            return
        self.outbox = self.outbox[sent:]
        if not self.outbox and self.done:
            self.close()
            return
        self._watch()

    def _watch(self):
        """Watch for what this client can still do: be read until it
        shuts its side, be written while output waits."""
        events = ((selectors.EVENT_READ if self.reading else 0) |
                  (selectors.EVENT_WRITE if self.outbox else 0))
        selector = self.server.selector
        try:
            selector.get_key(self.sock)
        except KeyError:
            if events:
                selector.register(self.sock, events, ("client", self))
            return
        if events:
            selector.modify(self.sock, events, ("client", self))
        else:
            selector.unregister(self.sock)

    def subscribe(self, devices):
        self.devices = devices
        self.server.subscribers.append(self)
        self.send({"ok": True, "subscribed": sorted(
            devices or (b.name for b in self.server.backends))})

    def deliver(self, event):
        if self.devices is None or event["device"] in self.devices:
            self.send(event)

    def wait(self, backend, line, level, timeout):
        def hook(event):
            if (event["device"] == backend.name and event["line"] == line
                    and backend.device.lines[line].value == level):
                self._stop_waiting()
                self._answer_now({"ok": True, "time": event["time"]})

        def expire():
            if self._hook is hook:
                self._stop_waiting()
                self._answer_now({"ok": False, "timeout": True})

        self._hook = hook
        self.server.event_hooks.append(hook)
        self.server.call_later(timeout, expire)

    def _stop_waiting(self):
        if self._hook in self.server.event_hooks:
            self.server.event_hooks.remove(self._hook)
        self._hook = None

    def close(self):
        if self.sock is None:
            return
        self._stop_waiting()
        if self in self.server.subscribers:
            self.server.subscribers.remove(self)
        self.server.clients.discard(self)
        try:
            self.server.selector.unregister(self.sock)
        except (KeyError, ValueError):
            pass
        self.sock.close()
        self.sock = None
