"""DKMS: add, build and install vgpio for the installed Debian 6.1 kernel."""

import os
import shutil
import subprocess

import pytest

import kbuild

pytestmark = pytest.mark.system

NAME, VERSION = "vgpio", "0.1.0"


def dkms(*args, check=True):
    return subprocess.run(["dkms"] + list(args), capture_output=True,
                          text=True, check=check)


@pytest.fixture
def dkms_clean():
    def clean():
        dkms("remove", "-m", NAME, "-v", VERSION, "--all", check=False)
        # dkms add copies (or links) the sources to /usr/src/NAME-VERSION.
        copy = "/usr/src/%s-%s" % (NAME, VERSION)
        if os.path.islink(copy):
            os.unlink(copy)
        elif os.path.isdir(copy):
            shutil.rmtree(copy)
    clean()
    yield
    clean()


def test_dkms_add_build_install(dkms_clean, tmp_path):
    headers, release = kbuild.debian_headers()
    src = kbuild.copy_sources(str(tmp_path / ("%s-%s" % (NAME, VERSION))))
    dkms("add", src)
    built = dkms("build", "-m", NAME, "-v", VERSION, "-k", release, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    installed = dkms("install", "-m", NAME, "-v", VERSION, "-k", release,
                     check=False)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    status = dkms("status", "-m", NAME, "-v", VERSION, "-k", release).stdout
    assert "installed" in status
    path = subprocess.run(["modinfo", "-k", release, "-n", NAME], check=True,
                          capture_output=True, text=True).stdout.strip()
    assert path.startswith("/lib/modules/%s/" % release)
    assert "dkms" in path or "extra" in path
