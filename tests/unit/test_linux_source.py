"""Unpacked linux-source trees in the cache, on a made-up source tarball."""

import os
import subprocess
import sys
import tarfile

from checkout import ROOT
from virtio_gpio.guests import linux_source


def tarball(path, marker):
    """A linux-source-9.9.tar.xz whose Makefile says ``marker``."""
    tree = path.parent / ("tree-" + marker) / "linux-source-9.9"
    tree.mkdir(parents=True)
    (tree / "Makefile").write_text(marker + "\n")
    with tarfile.open(str(path), "w:xz") as tar:
        tar.add(str(tree), arcname="linux-source-9.9")
    return str(path)


def test_a_tree_is_unpacked_once_per_package_version(tmp_path, capfd):
    root = str(tmp_path / "cache")
    os.makedirs(root)
    first = tarball(tmp_path / "first.tar.xz", "first")
    dest = linux_source._unpack(root, first, "9.9", "9.9.1-1")
    assert dest == os.path.join(root, "linux-source-9.9")
    with open(os.path.join(dest, ".unpacked")) as f:
        assert f.read() == "9.9.1-1\n"
    assert "unpacking linux-source-9.9 9.9.1-1" in capfd.readouterr().err
    # The same version: left as it is (a build's files stay).
    open(os.path.join(dest, "built"), "w").close()
    assert linux_source._unpack(root, first, "9.9", "9.9.1-1") == dest
    assert os.path.exists(os.path.join(dest, "built"))
    # A new version: unpacked afresh, nothing of the old one left.
    second = tarball(tmp_path / "second.tar.xz", "second")
    linux_source._unpack(root, second, "9.9", "9.9.2-1")
    with open(os.path.join(dest, "Makefile")) as f:
        assert f.read() == "second\n"
    assert not os.path.exists(os.path.join(dest, "built"))
    assert sorted(os.listdir(root)) == ["linux-source-9.9"]


def test_a_bad_pin_is_one_line_and_status_2(tmp_path):
    env = dict(os.environ, VGPIO_CACHE_DIR=str(tmp_path),
               VGPIO_NEWEST_SERIES="7.x",
               PYTHONPATH=os.path.join(ROOT, "python"))
    for command in ([sys.executable, "-m", "virtio_gpio.guests.linux_source",
                     "newest"],
                    [os.path.join(ROOT, "tools", "linux-source"), "newest"]):
        proc = subprocess.run(command, capture_output=True, text=True,
                              env=env)
        assert proc.returncode == 2 and not proc.stdout
        assert proc.stderr == ("linux-source: VGPIO_NEWEST_SERIES=7.x is not "
                               "a series like 7.3\n")
