"""DKMS: add, build and install vgpio for every installed kernel's headers."""

import os
import re
import shutil
import subprocess

import pytest

import kbuild

NAME, VERSION = "vgpio", kbuild.project_version()


def installed_header_releases():
    """Kernel release of every installed linux-headers-* package that is
    one kernel's headers (it ships /lib/modules/RELEASE/build, the tree
    DKMS builds against); metapackages and -common ones do not."""
    listing = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n",
         "linux-headers-*"], check=True, capture_output=True, text=True).stdout
    releases = []
    for line in listing.splitlines():
        package, status = line.split()
        if status != "installed":
            continue
        files = subprocess.run(["dpkg-query", "-L", package], check=True,
                               capture_output=True, text=True).stdout
        releases += re.findall(r"^/lib/modules/([^/\s]+)/build$", files,
                               re.MULTILINE)
    return sorted(set(releases), key=kbuild.version_key)


RELEASES = installed_header_releases()


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


def test_every_supported_debian_series_has_installed_headers():
    # The discovery must find the headers the module gates build against.
    for series in ("6.1", "6.12"):
        assert kbuild.debian_headers(series)[1] in RELEASES, RELEASES


@pytest.mark.parametrize("release", RELEASES)
def test_dkms_add_build_install(dkms_clean, tmp_path, release):
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
    vermagic = subprocess.run(["modinfo", "-F", "vermagic", path], check=True,
                              capture_output=True, text=True).stdout
    assert vermagic.startswith(release + " ")
