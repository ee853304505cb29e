"""The control socket's commands, served: one JSON object in, one JSON
object out, for scripts and tests driving a running backend.

Anyone who can write to the socket can send anything: a message that is
not an object, or names an unknown command, gets an ``error`` answer and
the backend serves on.
"""

import json
import logging

from ..devices.base import Fault

log = logging.getLogger(__name__)


class ControlCommands:
    """What ``vgpio-ctl`` and :func:`~.control.send_control` can ask of
    ``backend``."""

    def __init__(self, backend):
        self.backend = backend

    def answer(self, data: bytes):
        """The reply to one request line, as a dict."""
        try:
            command = json.loads(data)
        except ValueError as exc:
            return {"error": "not JSON: %s" % exc}
        if not isinstance(command, dict):
            return {"error": "a command is a JSON object, not %s"
                    % type(command).__name__}
        handler = getattr(self, "do_%s" % command.get("cmd"), None)
        if handler is None:
            return {"error": "unknown command %r" % command.get("cmd")}
        try:
            return handler(command)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            return {"error": "%s: %s" % (type(exc).__name__, exc)}

    def do_set_input(self, command):
        line, level = int(command["line"]), int(command["level"])
        changed = self.backend.set_input(line, level)
        return {"ok": changed, "time": self.backend.toggles[line]}

    def do_state(self, command):
        backend = self.backend
        return {"lines": [{"name": l.name, "direction": int(l.direction),
                           "value": l.value,
                           "requested": getattr(l, "requested", None)}
                          for l in backend.device.lines],
                "requests": backend.device.requests_seen,
                "connected": backend.conn is not None,
                "connections": backend.connections,
                "toggles": {str(k): v for k, v in backend.toggles.items()}}

    def do_inject(self, command):
        fault = Fault(command["fault"])
        self.backend.inject(fault, int(command.get("count", 1)))
        return {"ok": True}

    def do_stop(self, command):
        self.backend.running = False
        return {"ok": True}

    def do_noop(self, command):
        self.backend.set_floor(bool(command.get("on", True)))
        return {"ok": True}
