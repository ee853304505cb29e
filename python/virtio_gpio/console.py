"""Guests driven through their console: start, wait for markers, stop."""

import queue
import subprocess
import threading
import time


class ConsoleGuest:
    """A guest (UML or QEMU) started from ``cmd``, its console read line by line.

    Tests wait for marker lines with :meth:`expect`, act on the host, and
    let the guest go on; every line is also kept in ``lines``.
    """

    def __init__(self, cmd, log_path=None):
        self.lines = []
        #: host time.time() at which the line last returned by expect() arrived
        self.arrival = None
        self._queue = queue.Queue()
        self._log = open(log_path, "w") if log_path else None
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            arrived = time.time()
            line = raw.decode(errors="replace").rstrip("\r\n")
            self.lines.append(line)
            if self._log:
                self._log.write(line + "\n")
                self._log.flush()
            self._queue.put((line, arrived))
        self._queue.put((None, None))

    def expect(self, prefix, timeout=120):
        """Wait for a console line starting with ``prefix``; return it."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line, arrived = self._queue.get(timeout=max(left, 0.01))
            except queue.Empty:
                line = ""
            if line is None or left <= 0:
                raise TimeoutError("guest never printed %r; last lines:\n%s"
                                   % (prefix, "\n".join(self.lines[-30:])))
            if line.startswith(prefix):
                self.arrival = arrived
                return line

    def wait(self, timeout=120):
        try:
            code = self.proc.wait(timeout)
        finally:
            self._reader.join(5)
            if self._log:
                self._log.close()
        return code

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
