"""A guest console read line by line for markers, then handed over to a
terminal byte for byte.

:class:`ConsoleGuest` reads whole lines, which suits markers and command
output but not a shell: a prompt ends without a newline and would never
show. :class:`PassthroughGuest` reads what the console sends as it comes;
until :meth:`~PassthroughGuest.hand_over` it cuts it into lines as
ConsoleGuest does (``expect``, ``lines``), from then on it writes it
unchanged to a sink, and :meth:`~PassthroughGuest.pump` types a file
descriptor's input on the console. The guest's program (QEMU) writes its
own complaints to ``stderr``, not into the console's stream, so that
they never mix with what a command in the guest prints.
"""

import os
import queue
import subprocess
import threading
import time

from .console import ConsoleGuest


class PassthroughGuest(ConsoleGuest):
    """A guest started from ``cmd`` whose console can be handed over;
    ``popen`` goes to :class:`subprocess.Popen` as it is."""

    def __init__(self, cmd, stderr=None, **popen):
        self.lines = []
        self.arrival = None
        self._queue = queue.Queue()
        self._log = None
        self._sink = None
        #: console bytes after the last newline, before the hand-over
        self._pending = b""
        self._sink_lock = threading.Lock()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=stderr,
                                     **popen)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _line(self, raw):
        line = raw.decode(errors="replace").rstrip("\r")
        self.lines.append(line)
        self._queue.put((line, time.time()))

    def _read(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            # Under the lock, so that hand_over() finds every line queued
            # and the unfinished one (a prompt) in _pending.
            with self._sink_lock:
                if self._sink is not None:
                    self._sink(chunk)
                    continue
                self._pending += chunk
                while b"\n" in self._pending:
                    raw, self._pending = self._pending.split(b"\n", 1)
                    self._line(raw)
        with self._sink_lock:
            if self._pending and self._sink is None:
                self._line(self._pending)
        self._queue.put((None, None))

    def read_line(self, timeout):
        """The next console line, None at the console's end;
        TimeoutError when none came within ``timeout``."""
        try:
            line, _ = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("no console line within %.0f s" % timeout) \
                from None
        if line is None:
            self._queue.put((None, None))
        return line

    def hand_over(self, sink):
        """From now on the console's bytes go to ``sink(bytes)``.

        What was read but not taken by :meth:`read_line` or ``expect``
        goes first: the lines, each with the newline the split took, then
        the unfinished last line.
        """
        with self._sink_lock:
            while True:
                try:
                    line, _ = self._queue.get_nowait()
                except queue.Empty:
                    break
                if line is None:
                    self._queue.put((None, None))
                    break
                sink(line.encode() + b"\r\n")
            if self._pending:
                sink(self._pending)
                self._pending = b""
            self._sink = sink

    def pump(self, fd):
        """Type what ``fd`` delivers on the console, in a daemon thread,
        until either side ends."""
        def run():
            while True:
                try:
                    data = os.read(fd, 4096)
                    if not data:
                        return
                    self.proc.stdin.write(data)
                    self.proc.stdin.flush()
                except (OSError, ValueError):
                    return
        threading.Thread(target=run, daemon=True).start()
