"""A tool that needs the compiled core says what to install, in one line.

The core is blocked the way an install without a C compiler lacks it:
importing virtio_gpio._core fails.
"""

import os
import subprocess
import sys

from checkout import ROOT
from virtio_gpio.clitext import CORE_MISSING


RUN_DEMO_WITHOUT_CORE = """
import importlib.abc, sys

class NoCore(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "virtio_gpio._core":
            raise ModuleNotFoundError("No module named %r" % name, name=name)
        return None

sys.meta_path.insert(0, NoCore())
from virtio_gpio.demo import main
sys.exit(main(sys.argv[1:]))
"""


def demo(*args):
    return subprocess.run(
        [sys.executable, "-c", RUN_DEMO_WITHOUT_CORE] + list(args),
        capture_output=True, text=True, timeout=60,
        env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python")))


def test_the_demo_without_the_core_names_what_to_install():
    proc = demo()
    assert proc.returncode == 1
    assert proc.stderr == CORE_MISSING % "vgpio-demo" + "\n"
    assert "pip install" in proc.stderr and not proc.stdout


def test_the_demos_help_needs_no_core():
    proc = demo("--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: vgpio-demo")
    assert "Traceback" not in proc.stderr
