"""The lines' state kept across restarts of the backend (``--state FILE``).

What the lines are at (each line's direction, level and, on the standard
protocol, the value it drives as an output) is written to a JSON file
while the backend serves, and put back into the models when it starts
again with the same devices, so a guest that stays up while its backend
is restarted finds its lines as it left them. What belongs to a front
end's session (held interrupt buffers, armed interrupt types, requested
lines) is not kept: a new session sets it up anew.

The file is replaced whole (written beside it, then renamed), so a
backend killed at any moment leaves the previous state or the new one,
never half of one. One that does not describe the same devices is
refused rather than half applied: start afresh by deleting it.
"""

import json
import logging
import os
import time

log = logging.getLogger(__name__)

#: the file's ``format``: what it is and which layout
FORMAT = "vgpio-vhost-user line state 1"
#: at most one write per this many seconds while serving
INTERVAL = 0.1

_PROTOCOLS = {30: "id30", 41: "standard"}


class StateFileError(ValueError):
    """A state file that cannot be applied: corrupt, or saved for other
    devices."""


def protocol(device):
    return _PROTOCOLS.get(device.device_id, str(device.device_id))


def snapshot(backends):
    """The state of ``backends``' lines, as the file holds it."""
    devices = []
    for backend in backends:
        lines = []
        for line in backend.device.lines:
            saved = {"direction": line.direction.name.lower(),
                     "value": line.value}
            if hasattr(line, "out_value"):
                saved["out_value"] = line.out_value
            lines.append(saved)
        devices.append({"name": backend.name,
                        "protocol": protocol(backend.device),
                        "lines": lines})
    return {"format": FORMAT, "devices": devices}


def write(path, backends):
    """Replace ``path`` with the state of ``backends``' lines. It is not
    synced to disk: the rename already keeps a killed backend's file whole,
    and a sync per write would stall the serving loop."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(snapshot(backends), f, indent=1)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def _layout(devices):
    return ", ".join("%s (%s, %d lines)" % (d["name"], d["protocol"],
                                           len(d["lines"])) for d in devices)


def restore(path, backends):
    """Put the state saved in ``path`` back into ``backends``' models.
    Returns False when there is no such file (nothing to restore); raises
    :class:`StateFileError` for a corrupt file or one saved for other
    devices, having changed nothing."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StateFileError("cannot read it: %s" % (exc.strerror or exc)) \
            from None
    try:
        saved = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise StateFileError("not a line-state file (%s)" % exc) from None
    except RecursionError:  # json recurses per nesting level
        raise StateFileError("not a line-state file (nested too deep)") \
            from None
    devices = _checked(saved)
    here = snapshot(backends)["devices"]
    if [(d["name"], d["protocol"], len(d["lines"])) for d in devices] != \
            [(d["name"], d["protocol"], len(d["lines"])) for d in here]:
        raise StateFileError("saved for %s; this backend serves %s"
                             % (_layout(devices), _layout(here)))
    changes = []
    for backend, device in zip(backends, devices):
        for line, state in zip(backend.device.lines, device["lines"]):
            directions = type(line.direction)
            name = state["direction"].upper()
            if name not in directions.__members__:
                raise StateFileError("direction %r is not one of protocol "
                                     "%s's" % (state["direction"],
                                               device["protocol"]))
            if ("out_value" in state) != hasattr(line, "out_value"):
                raise StateFileError("line state of another protocol")
            changes.append((line, directions[name], state))
    for line, direction, state in changes:
        line.direction = direction
        line.value = state["value"]
        if "out_value" in state:
            line.out_value = state["out_value"]
    return True


def _checked(saved):
    """The devices of a parsed state file, each field checked."""
    def wrong(what):
        raise StateFileError("not a line-state file of this backend (%s)"
                             % what)

    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        wrong("no \"format\": %s" % json.dumps(FORMAT))
    devices = saved.get("devices")
    if not isinstance(devices, list):
        wrong("\"devices\" is not a list")
    for device in devices:
        if not (isinstance(device, dict) and
                isinstance(device.get("name"), str) and
                isinstance(device.get("protocol"), str) and
                isinstance(device.get("lines"), list)):
            wrong("a device without name, protocol and lines")
        for line in device["lines"]:
            if not (isinstance(line, dict) and
                    isinstance(line.get("direction"), str) and
                    _is_level(line.get("value")) and
                    _is_level(line.get("out_value", 0))):
                wrong("a line of device %r is %s"
                      % (device["name"], json.dumps(line)[:60]))
    return devices


def _is_level(value):
    return type(value) is int and value in (0, 1)


class StateKeeper:
    """Keeps ``path`` up to date with ``server``'s lines: rewritten after
    line events, at most once per :data:`INTERVAL`, and at :meth:`close`.
    A write that fails is logged; the backend serves on."""

    def __init__(self, server, path, interval=INTERVAL):
        self.server = server
        self.path = path
        self.interval = interval
        self.pending = False
        self.written = float("-inf")
        server.event_hooks.append(self.on_event)

    def on_event(self, event):
        if not self.pending:
            self.pending = True
            self.server.call_later(
                self.written + self.interval - time.monotonic(), self.flush)

    def flush(self):
        self.pending = False
        self.written = time.monotonic()
        try:
            write(self.path, self.server.backends)
        except OSError as exc:
            log.error("--state %s: not written: %s", self.path, exc)

    def close(self):
        """The last write, at shutdown."""
        self.flush()
