"""The package installs away from the checkout: from its sdist and wheel.

The sdist is built with setuptools' PEP 517 hook from a clean copy of the
checkout, the wheel from the
unpacked sdist (so a file missing from the sdist fails the wheel too), and
each is installed into a fresh virtualenv, without extras, where the
package must import, report the version kernel/vgpio_version.h gives, run
its demo, and have every console script answer ``--help``: with the
compiled core, and (the wheel's) without it, where the demo says in one
line what to install.
"""

import glob
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

import kbuild
from checkout import ROOT


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


def installed(python, code):
    """What ``code`` prints in the venv of ``python``, run away from the
    checkout so that the installed package is the one imported."""
    return subprocess.run([python, "-c", code], check=True,
                          capture_output=True, text=True,
                          cwd=os.path.dirname(python)).stdout.strip()


def console_scripts(python):
    """The console scripts the installed package declares."""
    return installed(python, (
        "import importlib.metadata as m\n"
        "print(' '.join(sorted(e.name for e in m.distribution("
        "'virtio-gpio').entry_points if e.group == 'console_scripts')))"
    )).split()


def check_every_script_helps(python):
    bindir = os.path.dirname(python)
    scripts = console_scripts(python)
    # vgpio-trace among them: its --help needs no trace extra either.
    assert scripts == ["vgpio-conform", "vgpio-ctl", "vgpio-demo",
                       "vgpio-guest", "vgpio-kconfig-lint", "vgpio-trace",
                       "vgpio-vhost-user"]
    for name in scripts:
        proc = subprocess.run([os.path.join(bindir, name), "--help"],
                              capture_output=True, text=True, cwd=bindir)
        assert proc.returncode == 0, (name, proc.stderr)
        assert proc.stdout.startswith("usage: %s " % name), proc.stdout
        assert "Traceback" not in proc.stdout + proc.stderr, name


def test_the_sdist_installs_into_a_fresh_venv(dists, tmp_path):
    python = fresh_venv(str(tmp_path / "venv"), dists["sdist"])
    check_installed(python)
    check_every_script_helps(python)


def test_the_wheel_installs_without_extras_and_runs_without_the_core(
        dists, tmp_path):
    python = fresh_venv(str(tmp_path / "venv"), dists["wheel"])
    check_installed(python)
    check_every_script_helps(python)
    # As an install on a machine without a C compiler has it.
    package = installed(python, "import os, virtio_gpio; "
                        "print(os.path.dirname(virtio_gpio.__file__))")
    cores = glob.glob(os.path.join(package, "_core*"))
    assert cores
    for core in cores:
        os.remove(core)
    check_every_script_helps(python)
    demo = subprocess.run([os.path.join(os.path.dirname(python),
                                        "vgpio-demo")],
                          capture_output=True, text=True,
                          cwd=os.path.dirname(python))
    assert demo.returncode == 1 and not demo.stdout
    assert demo.stderr.splitlines() == [
        "vgpio-demo: the compiled core (virtio_gpio._core) is not "
        "installed; reinstall with a C compiler and cffi: pip install "
        "--force-reinstall virtio-gpio"]


def test_without_a_compiler_the_sdist_installs_and_the_backend_serves(
        dists, tmp_path):
    # CC=false stands for a machine without a C compiler: the core cannot
    # be built, pip goes on without it, and the device side works.
    venv = str(tmp_path / "venv")
    run([sys.executable, "-m", "venv", venv])
    python = os.path.join(venv, "bin", "python")
    built = run([python, "-m", "pip", "install", "-v", dists["sdist"]],
                env=dict(os.environ, CC="false"))
    assert "virtio_gpio._core not built" in built.stdout + built.stderr
    assert not installed(python, "import glob, os, virtio_gpio; print(*glob."
                         "glob(os.path.dirname(virtio_gpio.__file__)"
                         " + '/_core*'))")
    check_every_script_helps(python)
    helpers = os.path.join(ROOT, "tests", "helpers")
    assert installed(python, "import sys; sys.path.insert(0, %r); "
                     "from vhost_front_end import check_serves; "
                     "check_serves(%r); print('served')"
                     % (helpers, str(tmp_path))) == "served"


def test_a_development_build_fails_on_a_core_that_does_not_compile(
        dists, tmp_path):
    venv = str(tmp_path / "venv")
    run([sys.executable, "-m", "venv", venv])
    python = os.path.join(venv, "bin", "python")
    proc = subprocess.run(
        [python, "-m", "pip", "install", "-q", dists["sdist"]],
        capture_output=True, text=True, timeout=900,
        env=dict(os.environ, CC="false", VGPIO_REQUIRE_CORE="1"))
    assert proc.returncode != 0
