"""vgpio-guest as a process for the end-to-end tests: its output read line
by line as it comes, waited on with bounded times, and stopped the way a
user stops it."""

import os
import queue
import signal
import subprocess
import sys
import threading
import time

from checkout import ROOT

VGPIO_GUEST = os.path.join(os.path.dirname(sys.executable), "vgpio-guest")
#: what one boot may take, backends' waits included, on a busy machine
BOOT_TIMEOUT = 240


class GuestRun:
    """vgpio-guest as a process, its stdout and stderr read line by line
    as they come."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [VGPIO_GUEST, "--timeout", str(BOOT_TIMEOUT)] + list(args),
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.out, self.err = [], []
        self._queues = {"out": queue.Queue(), "err": queue.Queue()}
        self._threads = [threading.Thread(target=self._read, args=(
            stream, lines, self._queues[name]), daemon=True)
            for name, stream, lines in (("out", self.proc.stdout, self.out),
                                        ("err", self.proc.stderr, self.err))]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _read(stream, lines, q):
        for line in stream:
            lines.append(line.rstrip("\n"))
            q.put(lines[-1])
        q.put(None)

    def expect(self, stream, accept, timeout):
        """The next line of ``stream`` ("out", "err") that ``accept``
        takes; AssertionError with both streams' tails if none in time."""
        deadline = time.monotonic() + timeout
        q = self._queues[stream]
        while True:
            try:
                line = q.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                line = None
            else:
                if line is None:
                    q.put(None)  # the end stays for the next expect
            if line is None:
                raise AssertionError(
                    "no %s line as awaited within %d s (exit %s)\nstdout:\n"
                    "%s\nstderr:\n%s" % (stream, timeout, self.proc.poll(),
                                         "\n".join(self.out[-30:]),
                                         "\n".join(self.err[-30:])))
            if accept(line):
                return line

    def finish(self, timeout):
        """The exit status, once the process ended and its output is read."""
        status = self.proc.wait(timeout)
        for thread in self._threads:
            thread.join(10)
        return status

    def kill(self):
        """SIGTERM, the way a user stops it, then SIGKILL if need be."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def stop_all(guest, backends):
    if guest is not None:
        guest.kill()
    for backend in backends:
        backend.stop()
