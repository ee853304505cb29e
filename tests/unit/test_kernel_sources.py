"""kernel/ holds sources only: which files are sources, and that building
the module writes nothing there (no kernel headers needed here; the build
itself: test_kernel_module.py::test_make_module_writes_nothing_into_kernel).
"""

import os
import shutil
import subprocess

import kbuild

# What a module built in place leaves beside its sources.
STRAYS = ["vgpio.mod.c", "vgpio.ko", "vgpio.o", ".vgpio.o.cmd",
          "Module.symvers", "modules.order", "vgpio.mod"]


def fake_kernel_dir(root):
    """``root``/kernel with a few sources and a build's outputs beside them."""
    src = os.path.join(root, "kernel")
    os.makedirs(os.path.join(src, "os", "linux"))
    for name in ["Kbuild", "Makefile", "vgpio_core.c", "vgpio_core.h",
                 "os/linux/vgpio_os.h"] + STRAYS:
        with open(os.path.join(src, name), "w") as f:
            f.write("/* %s */\n" % name)
    return src


SOURCES = ["Kbuild", "Makefile", "os/linux/vgpio_os.h", "vgpio_core.c",
           "vgpio_core.h"]


def test_sources_are_what_git_tracks(tmp_path):
    fake_kernel_dir(str(tmp_path))
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "--"] + ["kernel/" + s for s in SOURCES],
                   cwd=tmp_path, check=True)
    # Even an output that no .gitignore pattern covers is no source.
    (tmp_path / "kernel" / "vgpio.unknown-output").write_text("")
    assert kbuild.tracked_sources(str(tmp_path)) == SOURCES


def test_sources_outside_git_are_told_apart_by_name(tmp_path):
    # An unpacked sdist: no git to ask.
    fake_kernel_dir(str(tmp_path))
    assert kbuild.tracked_sources(str(tmp_path)) == SOURCES


def test_checkout_sources_include_no_build_output():
    sources = kbuild.tracked_sources()
    assert {"Kbuild", "Makefile", "dkms.conf", "vgpio_core.c",
            "os/linux/vgpio_os.h"} <= set(sources)
    assert [s for s in sources if kbuild.BUILD_OUTPUT.search(
        os.path.basename(s))] == []


def untracked(root):
    status = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--", "kernel"],
        cwd=root, check=True, capture_output=True, text=True).stdout
    return {line for line in status.splitlines()
            if line.startswith(("??", "!!"))}


def test_kernel_makefile_builds_from_links_outside_kernel(tmp_path):
    # What make module hands Kbuild as M=: links to the sources, so that
    # Kbuild's outputs land beside the links, not beside the sources.
    before = untracked(kbuild.ROOT)
    out = tmp_path / "module"
    subprocess.run(["make", "-s", "-C", kbuild.KERNEL_SRC, "links",
                    "OUT=%s" % out], check=True, capture_output=True)
    for name in ["Kbuild", "vgpio_core.c", "vgpio_core.h", "os"]:
        link = out / name
        assert link.is_symlink()
        assert os.path.samefile(link, os.path.join(kbuild.KERNEL_SRC, name))
    assert (out / "os" / "linux" / "vgpio_os.h").is_file()
    assert not (out / "Makefile").exists()
    assert untracked(kbuild.ROOT) - before == set()


def test_kernel_makefile_refuses_to_build_among_the_sources():
    for out in [kbuild.KERNEL_SRC, os.path.join(kbuild.KERNEL_SRC, "os")]:
        proc = subprocess.run(["make", "-C", kbuild.KERNEL_SRC, "links",
                               "OUT=" + out], capture_output=True, text=True)
        assert proc.returncode != 0
        assert "is inside the sources" in proc.stderr


def test_kernel_makefile_default_is_build_module_of_the_checkout(tmp_path):
    # A copy of the tree stands for the checkout: make -C kernel, as the
    # user guide has it, must put its links in build/module.
    # OUT from the environment is not taken for a request.
    shutil.copytree(kbuild.KERNEL_SRC, tmp_path / "kernel", symlinks=True)
    env = dict(os.environ, OUT=str(tmp_path / "elsewhere"))
    subprocess.run(["make", "-s", "-C", str(tmp_path / "kernel"), "links"],
                   check=True, capture_output=True, env=env)
    assert (tmp_path / "build" / "module" / "Kbuild").is_symlink()
    assert not (tmp_path / "elsewhere").exists()
    assert sorted(os.listdir(tmp_path / "kernel")) == sorted(
        os.listdir(kbuild.KERNEL_SRC))
