"""The package installs away from the checkout: from its sdist and wheel.

The sdist is built with setuptools' PEP 517 hook from a clean copy of the
checkout, the wheel from the
unpacked sdist (so a file missing from the sdist fails the wheel too), and
each is installed into a fresh virtualenv, where the package must import,
report the version kernel/vgpio_version.h gives, and run its demo. The
wheel goes in with the "kconfig" extra, which the lint needs.
"""

import glob
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

import kbuild

pytestmark = pytest.mark.system

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def clean_copy(dest):
    """The checkout's files as a fresh clone has them: no build products,
    no egg-info whose SOURCES.txt would fill in for MANIFEST.in."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if os.path.isfile(os.path.join(ROOT, name)):
            os.makedirs(os.path.dirname(os.path.join(dest, name)),
                        exist_ok=True)
            shutil.copy2(os.path.join(ROOT, name), os.path.join(dest, name))
    return dest


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("dist"))
    source = clean_copy(str(tmp_path_factory.mktemp("checkout")))
    run([sys.executable, "-c", "import sys; from setuptools import "
         "build_meta; build_meta.build_sdist(sys.argv[1])", out], cwd=source)
    (sdist,) = glob.glob(os.path.join(out, "*.tar.gz"))
    unpacked = str(tmp_path_factory.mktemp("unpacked"))
    with tarfile.open(sdist) as tar:
        # The "data" filter where tarfile has it (3.11.4 and later; Debian
        # 12's 3.11.2 has not): our own archive, but no reason to trust it.
        tar.extractall(unpacked, **({"filter": "data"} if hasattr(
            tarfile, "data_filter") else {}))
        names = tar.getnames()
    (tree,) = glob.glob(os.path.join(unpacked, "*"))
    run([sys.executable, "-m", "pip", "wheel", "--no-deps",
         "--no-build-isolation", "-q", "-w", out, tree])
    (wheel,) = glob.glob(os.path.join(out, "*.whl"))
    return {"sdist": sdist, "wheel": wheel, "names": names}


def run(cmd, **kwargs):
    """Run ``cmd``; fail with its output when it fails."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900,
                          **kwargs)
    assert proc.returncode == 0, "%s:\n%s%s" % (cmd, proc.stdout,
                                                proc.stderr)
    return proc


def fresh_venv(path, requirement):
    run([sys.executable, "-m", "venv", path])
    python = os.path.join(path, "bin", "python")
    run([python, "-m", "pip", "install", "-q", requirement])
    return python


def test_the_sdist_carries_every_source_the_core_needs(dists):
    inside = {name.split("/", 1)[1] for name in dists["names"] if "/" in name}
    tracked = subprocess.run(
        ["git", "ls-files", "kernel", "python/csrc", "python/_cffi_src"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    wanted = [path for path in tracked if path.endswith((".c", ".h", ".py"))]
    assert "kernel/vgpio_core.c" in wanted
    assert sorted(set(wanted) - inside) == []
    assert {"setup.py", "pyproject.toml", "MANIFEST.in"} <= inside


def check_installed(python):
    bindir = os.path.dirname(python)
    version = subprocess.run(
        [python, "-c", "import virtio_gpio; print(virtio_gpio.__version__)"],
        check=True, capture_output=True, text=True, cwd=bindir).stdout.strip()
    assert version == kbuild.project_version()
    demo = subprocess.run([os.path.join(bindir, "vgpio-demo")],
                          capture_output=True, text=True, cwd=bindir)
    assert demo.returncode == 0, demo.stderr
    assert "core counters:" in demo.stdout


def test_the_sdist_installs_into_a_fresh_venv(dists, tmp_path):
    python = fresh_venv(str(tmp_path / "venv"), dists["sdist"])
    check_installed(python)
    # Without the extra, the lint says what to install.
    lint = subprocess.run([os.path.join(os.path.dirname(python),
                                        "vgpio-kconfig-lint"), "--help"],
                          capture_output=True, text=True)
    assert lint.returncode != 0
    assert "pip install 'virtio-gpio[kconfig]'" in lint.stderr


def test_the_wheel_installs_with_the_kconfig_extra(dists, tmp_path):
    python = fresh_venv(str(tmp_path / "venv"), dists["wheel"] + "[kconfig]")
    check_installed(python)
    lint = subprocess.run([os.path.join(os.path.dirname(python),
                                        "vgpio-kconfig-lint"), "--help"],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stderr
    assert "usage:" in lint.stdout
