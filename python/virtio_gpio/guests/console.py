"""Guests driven through their console: start, wait for markers, stop."""

import queue
import subprocess
import threading
import time


class ConsoleGuest:
    """A guest (UML or QEMU) started from ``cmd``, its console read line by line.

    Tests wait for marker lines with :meth:`expect`, act on the host, and
    let the guest go on; every line is also kept in ``lines``. With
    ``console_input`` the guest's console reads what :meth:`send` writes
    (a guest without a shared file system waits on it); without, it
    reads end-of-file.

    Not pexpect: the latency figures need the host time at which each
    line arrived, which a reader thread records as it comes; pexpect
    reads only while expect() runs, so a line that arrived between two
    calls would get the later call's time.
    """

    def __init__(self, cmd, log_path=None, console_input=False):
        self.lines = []
        #: host time.time() at which the line last returned by expect() arrived
        self.arrival = None
        self._queue = queue.Queue()
        self._log = open(log_path, "w") if log_path else None
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if
                                     console_input else subprocess.DEVNULL,
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
                # Nothing yet: the deadline decides, whatever the prefix.
                if left > 0:
                    continue
                line = None
            if line is None or left <= 0:
                raise TimeoutError("guest never printed %r; last lines:\n%s%s"
                                   % (prefix, "\n".join(self.lines[-30:]),
                                      self.where_it_hangs()))
            if line.startswith(prefix):
                self.arrival = arrived
                return line

    def where_it_hangs(self):
        """What a guest that is still running but silent is doing, as text
        for a timeout's message; empty where the guest kind cannot tell."""
        return ""

    def send(self, text):
        """Type ``text`` on the guest's console (needs ``console_input``)."""
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

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
        if self.proc.stdin:
            self.proc.stdin.close()
