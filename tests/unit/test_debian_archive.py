"""Debian's archive found in apt's own sources, one-line and deb822 style.

The files are written here, under a folder laid out like /etc/apt; the
archive is a made-up mirror, so that any answer comes from the files.
"""

import os
import subprocess
import sys

import pytest

from checkout import ROOT
from virtio_gpio.guests import debian_archive


MIRROR = "http://mirror.example/archive"


def apt_etc(tmp_path, files):
    """An apt configuration folder holding ``files`` ({path: text})."""
    etc = tmp_path / "apt"
    (etc / "sources.list.d").mkdir(parents=True)
    for name, text in files.items():
        (etc / name).write_text(text)
    return str(etc)


def test_the_first_archive_line_of_a_one_line_file(tmp_path):
    etc = apt_etc(tmp_path, {"sources.list": (
        "# deb http://commented.example/archive bookworm main\n"
        "deb-src http://source.example/archive bookworm main\n"
        "deb http://security.example/archive-security bookworm-security main\n"
        "deb https://docker.example/linux/repo bookworm stable\n"
        "deb [ signed-by=/usr/share/keyrings/k.gpg arch=amd64 ] %s "
        "bookworm main contrib # the archive\n"
        "deb http://later.example/archive bookworm-updates main\n" % MIRROR)})
    assert debian_archive.archive_uri(etc) == MIRROR


def test_the_first_archive_stanza_of_a_deb822_file(tmp_path):
    etc = apt_etc(tmp_path, {
        "sources.list.d/debian.sources": (
            "Types: deb\n"
            "URIs: http://security.example/archive-security\n"
            "Suites: bookworm-security\n"
            "Components: main\n"
            "\n"
            "Types: deb\n"
            "URIs: http://disabled.example/archive\n"
            "Suites: bookworm\n"
            "Components: main\n"
            "Enabled: no\n"
            "\n"
            "# the archive itself\n"
            "Types: deb-src deb\n"
            "URIs: %s\n"
            "  http://second.example/archive\n"
            "Suites: bookworm bookworm-updates\n"
            "Components: main non-free-firmware\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
            % MIRROR),
        "sources.list.d/a-third-party.sources": (
            "Types: deb\n"
            "URIs: https://node.example/node_20.x\n"
            "Suites: nodistro\n"
            "Components: main\n")})
    assert debian_archive.archive_uri(etc) == MIRROR


def test_files_are_read_in_apts_order(tmp_path):
    # sources.list first, then sources.list.d by name, .list and .sources
    # alike; other names (a disabled file) are not apt's.
    line = "deb http://%s.example/archive bookworm main\n"
    files = {"sources.list.d/b.list": line % "b",
             "sources.list.d/c.sources": ("Types: deb\nURIs: http://c.example"
                                          "/debian\nSuites: bookworm\n"
                                          "Components: main\n"),
             "sources.list.d/a.list.disabled": line % "disabled"}
    assert (debian_archive.archive_uri(apt_etc(tmp_path / "1", files))
            == "http://b.example/archive")
    files["sources.list"] = line % "main"
    assert (debian_archive.archive_uri(apt_etc(tmp_path / "2", files))
            == "http://main.example/archive")


def test_no_archive_is_an_error_that_names_the_files(tmp_path):
    etc = apt_etc(tmp_path, {"sources.list": (
        "deb http://security.example/archive-security bookworm-security "
        "main\n")})
    with pytest.raises(debian_archive.NoArchive) as raised:
        debian_archive.archive_uri(etc)
    assert os.path.join(etc, "sources.list") in str(raised.value)


def test_the_command_prints_the_uri_or_one_line(tmp_path):
    def command(etc):
        return subprocess.run(
            [sys.executable, "-m", "virtio_gpio.guests.debian_archive", etc],
            capture_output=True, text=True, cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python")))

    found = command(apt_etc(tmp_path / "1", {
        "sources.list": "deb %s bookworm main\n" % MIRROR}))
    assert (found.returncode, found.stdout) == (0, MIRROR + "\n")
    missing = command(apt_etc(tmp_path / "2", {}))
    assert missing.returncode == 1 and not missing.stdout
    assert len(missing.stderr.splitlines()) == 1
    assert "no apt source serves Debian's archive" in missing.stderr


def test_private_sources_use_the_archive(tmp_path):
    etc = apt_etc(tmp_path, {"sources.list": "deb %s bookworm main\n"
                                             % MIRROR})
    state = str(tmp_path / "state")
    debian_archive.write_private_sources(
        state, [("deb", "trixie-backports"), ("deb-src", "sid")], etc)
    with open(os.path.join(state, "sources.list")) as f:
        lines = f.read().splitlines()
    assert lines == ["deb [signed-by=%s] %s trixie-backports main"
                     % (debian_archive.KEYRING, MIRROR),
                     "deb-src [signed-by=%s] %s sid main"
                     % (debian_archive.KEYRING, MIRROR)]
    assert os.path.isdir(os.path.join(state, "lists", "partial"))
    options = debian_archive.private_apt_options(state, "amd64")
    assert ("Dir::Etc::SourceList=" + os.path.join(state, "sources.list")
            in options and "APT::Architecture=amd64" in options)
