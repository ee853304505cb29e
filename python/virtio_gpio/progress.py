"""Long builds that say what they are doing.

A kernel build takes minutes; a terminal that stays silent that long looks
hung. :func:`run` sends a command's output to a log file and prints one
line when a stage starts, one a minute while it runs (with the last line
of the log), and one when it ends. Only standard library: the guest
runners use it without the C extension.
"""

import os
import signal
import subprocess
import sys
import time

#: seconds between two "still running" lines
INTERVAL = 60.0


class BuildFailed(RuntimeError):
    """A build step failed; the message ends with the tail of its log."""


def _last_line(log):
    try:
        with open(log, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 4096))
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    return lines[-1].strip()[:120] if lines else ""


def _tail(log, count=40):
    try:
        with open(log, errors="replace") as f:
            return "".join(f.readlines()[-count:])
    except OSError:
        return ""


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def say(message, stream=None):
    """One progress line, flushed at once."""
    stream = stream or sys.stderr
    stream.write("%s\n" % message)
    stream.flush()


def run(cmd, log, stage, stream=None, interval=INTERVAL, **kwargs):
    """Run ``cmd`` with its output appended to ``log``, reporting progress.

    :param stage: what the step is, for the progress lines
    :raises BuildFailed: when the command exits non-zero
    """
    start = time.monotonic()
    say("[%s] started (log: %s)" % (stage, log), stream)
    with open(log, "ab") as out:
        # A session of its own, so that an interrupted build (Ctrl-C, a
        # test timeout) takes make's whole process tree down with it.
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL,
                                start_new_session=True, **kwargs)
        try:
            while True:
                try:
                    returncode = proc.wait(timeout=interval)
                    break
                except subprocess.TimeoutExpired:
                    say("[%s] %d min: %s" % (stage, (time.monotonic() - start)
                                             // 60, _last_line(log)), stream)
        except BaseException:
            _kill_group(proc)
            say("[%s] stopped after %.0f s" % (stage,
                                               time.monotonic() - start),
                stream)
            raise
    elapsed = time.monotonic() - start
    if returncode:
        say("[%s] FAILED after %.0f s" % (stage, elapsed), stream)
        raise BuildFailed("%s failed (exit %d, log %s):\n%s"
                          % (stage, returncode, log, _tail(log)))
    say("[%s] done in %.0f s" % (stage, elapsed), stream)
    return elapsed
