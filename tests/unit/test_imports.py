"""What imports without the compiled core: the device side (wire formats,
models, the device loop, the vhost-user backend), the Kconfig lint and the
guest runners need only the standard library (and kconfiglib)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from checkout import ROOT

#: the modules that load the compiled core: the core stack and what runs
#: it (every other module of the package must import without it)
NEEDS_CORE = ["virtio_gpio._binding", "virtio_gpio.bench",
              "virtio_gpio.chip", "virtio_gpio.simtransport"]

BLOCK_CORE = """
import importlib.abc, sys

class NoCore(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "virtio_gpio._core":
            raise ImportError("virtio_gpio._core blocked by the test")
        return None

sys.meta_path.insert(0, NoCore())
"""


def run_without_core(code):
    return subprocess.run([sys.executable, "-c", BLOCK_CORE + code],
                          capture_output=True, text=True, timeout=60)


def test_only_the_core_stack_needs_the_compiled_core():
    # Every module of the installed package, each imported in turn with the
    # core blocked; those that fail for want of it are listed.
    proc = run_without_core(textwrap.dedent("""
        import importlib, json, pkgutil, virtio_gpio
        needs = []
        for info in pkgutil.walk_packages(virtio_gpio.__path__,
                                          "virtio_gpio."):
            if info.name == "virtio_gpio._core" or \\
                    info.name.endswith(".__main__"):    # they run a CLI
                continue
            try:
                importlib.import_module(info.name)
            except ImportError as exc:
                if "blocked by the test" not in str(exc):
                    raise
                needs.append(info.name)
        print(json.dumps(sorted(needs)))
        """))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == NEEDS_CORE


def test_the_block_is_real():
    # The same harness does stop what needs the core.
    proc = run_without_core("from virtio_gpio import Chip")
    assert proc.returncode != 0
    assert "virtio_gpio._core blocked by the test" in proc.stderr


def test_the_public_names_resolve():
    import virtio_gpio
    for name in virtio_gpio.__all__:
        assert getattr(virtio_gpio, name) is not None, name
    assert set(virtio_gpio.__all__) <= set(dir(virtio_gpio))
    with pytest.raises(AttributeError):
        virtio_gpio.SeedDevice


def test_backend_serves_a_device_without_the_compiled_core(tmp_path):
    # The whole host side: wire formats, models, the device loop and the
    # vhost-user backend, answering a front end's requests with the core
    # unavailable.
    helpers = os.path.join(ROOT, "tests", "helpers")
    proc = run_without_core(
        "sys.path.insert(0, %r)\n"
        "from vhost_front_end import check_serves\n"
        "check_serves(%r)\n"
        "assert 'virtio_gpio._core' not in sys.modules\n"
        "print('served')\n" % (helpers, str(tmp_path)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "served"
