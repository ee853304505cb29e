"""The README's first command ends in vgpio-demo: it must run through on
today's core (a change to the core's timeout handling once broke it, and
only the README's first command showed it)."""

import subprocess
import sys


def test_the_demo_runs_through_and_shows_each_step():
    proc = subprocess.run([sys.executable, "-m", "virtio_gpio.demo"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "event: line 2 rising" in lines
    assert any(l.startswith("dropped reply: ") and "timed out" in l
               for l in lines)
    assert any(l.startswith("while the device is silent, at once: ")
               for l in lines)
    assert "once the device answers again: value=0" in lines
    assert any(l.startswith("corrupted reply rejected") for l in lines)
