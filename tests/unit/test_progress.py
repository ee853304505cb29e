"""progress.run: a line per stage and per interval, and nothing left behind."""

import io
import os
import time

import pytest

from virtio_gpio import progress


def test_a_line_when_a_stage_starts_runs_and_ends(tmp_path):
    out = io.StringIO()
    log = tmp_path / "build.log"
    progress.run(["sh", "-c", "echo compiling a.o; sleep 0.7"], str(log),
                 "stage one", stream=out, interval=0.2)
    lines = out.getvalue().splitlines()
    assert lines[0] == "[stage one] started (log: %s)" % log
    running = [l for l in lines if l.startswith("[stage one] 0 min: ")]
    assert running and all(l.endswith("compiling a.o") for l in running)
    assert lines[-1].startswith("[stage one] done in ")
    assert log.read_text() == "compiling a.o\n"


def test_a_failed_stage_raises_with_the_tail_of_its_log(tmp_path):
    out = io.StringIO()
    with pytest.raises(progress.BuildFailed) as info:
        progress.run(["sh", "-c", "echo error: no rule; exit 3"],
                     str(tmp_path / "log"), "stage two", stream=out)
    assert "stage two failed (exit 3" in str(info.value)
    assert "error: no rule" in str(info.value)
    assert "[stage two] FAILED after" in out.getvalue()


class Interrupting(io.StringIO):
    """A terminal whose first "still running" line raises, like a Ctrl-C."""

    def write(self, text):
        if " min: " in text:
            raise KeyboardInterrupt
        return super().write(text)


def test_an_interrupted_stage_takes_its_whole_process_tree_down(tmp_path):
    marker = "31.%d" % (time.monotonic_ns() % 100000)
    with pytest.raises(KeyboardInterrupt):
        progress.run(["sh", "-c", "sleep %s & sleep %s; wait" % (marker,
                                                                 marker)],
                     str(tmp_path / "log"), "stage three",
                     stream=Interrupting(), interval=0.3)
    # SIGKILL is delivered at once, but a process takes a moment to die:
    # poll, briefly, rather than catch one on its way out.
    deadline = time.monotonic() + 5
    while processes_running(["sleep", marker]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_running(["sleep", marker]) == []


def processes_running(argv):
    """PIDs whose command line is ``argv``. Read from /proc rather than with
    pgrep, which hangs with the sanitizer runtimes preloaded (test-asan)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmdline = f.read().split(b"\0")[:-1]
        except OSError:
            continue
        if cmdline == [arg.encode() for arg in argv]:
            found.append(int(pid))
    return found
