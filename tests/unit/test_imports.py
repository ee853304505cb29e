"""What imports without the compiled core: the device side (wire formats,
models, the device loop, the vhost-user backend), the Kconfig lint and the
guest runners need only the standard library (and kconfiglib)."""

import os
import subprocess
import sys

import pytest

from checkout import ROOT

#: modules that must import with virtio_gpio._core missing
WITHOUT_CORE = ["virtio_gpio.kconfig", "virtio_gpio.kconfig.cli",
                "virtio_gpio.guests", "virtio_gpio.guests.kernels",
                "virtio_gpio.guests.uml", "virtio_gpio.guests.qemu",
                "virtio_gpio.guests.qemu_user_creatable",
                "virtio_gpio.guests.console", "virtio_gpio.guests.drivers",
                "virtio_gpio.guests.bench_guest",
                "virtio_gpio.guests.guest_cli", "virtio_gpio.guests.qmp",
                "virtio_gpio.guests.hotplug",
                "virtio_gpio.guests.guest_initramfs",
                "virtio_gpio.guests.debian_images",
                "virtio_gpio.guests.module_cache",
                "virtio_gpio.guests.passthrough",
                "virtio_gpio.vhost_user.control", "virtio_gpio.host",
                "virtio_gpio.progress",
                "virtio_gpio.clitext", "virtio_gpio.wire.id30",
                "virtio_gpio.wire.standard", "virtio_gpio.lines",
                "virtio_gpio.devices", "virtio_gpio.devices.loops",
                "virtio_gpio.devices.floor", "virtio_gpio.vhost_user.backend",
                "virtio_gpio.vhost_user.cli",
                "virtio_gpio.vhost_user.control_cli",
                "virtio_gpio.vhost_user.control_server", "virtio_gpio.cache",
                "virtio_gpio.guests.linux_source",
                "virtio_gpio.guests.debian_archive"]

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


@pytest.mark.parametrize("module", WITHOUT_CORE)
def test_imports_without_the_compiled_core(module):
    proc = run_without_core(
        "import importlib; importlib.import_module(%r)\n"
        "assert 'virtio_gpio._core' not in sys.modules" % module)
    assert proc.returncode == 0, proc.stderr


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
