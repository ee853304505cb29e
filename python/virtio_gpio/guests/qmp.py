"""A minimal client of QEMU's machine protocol (QMP) over a UNIX socket.

QEMU is started with ``-qmp unix:PATH,server=on,wait=off``; :class:`QMP`
connects, reads the greeting, negotiates capabilities, then sends one
command at a time and waits for its answer. Asynchronous events (QEMU
sends them whenever they happen, between answers too) are kept in a
queue that :meth:`QMP.wait_event` takes from.

Standard library only, like the other guest runners: ``vgpio-guest``
uses it to hot-plug vhost-user devices without the compiled core.
"""

import collections
import json
import socket
import time


class QMPError(RuntimeError):
    """QEMU answered a command with an error; ``klass`` is its class."""

    def __init__(self, command, klass, desc):
        super().__init__("%s: %s" % (command, desc))
        self.klass = klass
        self.desc = desc


class QMP:
    """One QMP connection. Not thread-safe: one thread talks to it."""

    def __init__(self, path, timeout=30.0):
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._buffer = b""
        self._next_id = 0
        #: events that arrived and that no wait_event() took yet
        self.events = collections.deque()
        try:
            self._sock.settimeout(timeout)
            self._sock.connect(path)
            greeting = self._read(time.monotonic() + timeout)
            if "QMP" not in greeting:
                raise ConnectionError("not a QMP greeting: %r" % greeting)
            self.command("qmp_capabilities", timeout=timeout)
        except BaseException:
            self._sock.close()
            raise

    def close(self):
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read(self, deadline):
        """The next JSON object from QEMU; TimeoutError past ``deadline``
        (a deadline already past still takes what QEMU has sent)."""
        while b"\n" not in self._buffer:
            self._sock.settimeout(max(deadline - time.monotonic(), 0.0))
            try:
                chunk = self._sock.recv(65536)
            except (socket.timeout, BlockingIOError):
                raise TimeoutError("QMP: no message from QEMU in time") \
                    from None
            if not chunk:
                raise ConnectionError("QMP: QEMU closed the connection")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def command(self, name, timeout=30.0, **arguments):
        """Run ``name`` with ``arguments``; returns its "return" value.

        :raises QMPError: when QEMU answers with an error
        :raises TimeoutError: when no answer comes within ``timeout``
        """
        self._next_id += 1
        message = {"execute": name, "id": self._next_id}
        if arguments:
            message["arguments"] = arguments
        self._sock.sendall(json.dumps(message).encode() + b"\n")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._read(deadline)
            if "event" in answer:
                self.events.append(answer)
            elif answer.get("id") == self._next_id:
                if "error" in answer:
                    raise QMPError(name, answer["error"].get("class"),
                                   answer["error"].get("desc"))
                return answer.get("return")

    def poll_events(self, timeout=0.0):
        """Queue in :attr:`events` what QEMU sends within ``timeout``."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                message = self._read(deadline)
                if "event" in message:
                    self.events.append(message)
        except TimeoutError:
            return

    def wait_event(self, name, timeout=30.0, match=None):
        """The first queued or arriving event ``name`` whose data
        ``match`` (a callable, optional) accepts; earlier events of other
        names stay queued. TimeoutError when none came in time."""
        deadline = time.monotonic() + timeout
        while True:
            for event in list(self.events):
                if event["event"] == name and (
                        match is None or match(event.get("data", {}))):
                    self.events.remove(event)
                    return event
            message = self._read(deadline)
            if "event" in message:
                self.events.append(message)
