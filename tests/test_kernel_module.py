"""Quality gates of vgpio.ko against Debian's 6.1 headers."""

import glob
import os
import re
import subprocess

import pytest

import kbuild

pytestmark = pytest.mark.system

CHECKPATCH_FILES = ["gpio-virtio.c", "vgpio_core.c", "vgpio_core.h",
                    "vgpio_core_priv.h", "vgpio_seed.c", "vgpio_std.c",
                    "vgpio_proto.h", "vgpio_std_proto.h", "os/linux/vgpio_os.h",
                    "Kbuild"]


def test_module_builds_with_w1_and_sparse_without_diagnostics(module_build):
    assert module_build.returncode == 0, module_build.log
    assert module_build.diagnostics() == []
    assert os.path.isfile(module_build.ko)


def test_sparse_checked_every_source(module_build):
    checked = set(re.findall(r"CHECK\s+\S*/(\S+\.c)", module_build.log))
    assert checked == {"gpio-virtio.c", "vgpio_core.c", "vgpio_seed.c",
                       "vgpio_std.c"}


def test_sparse_catches_missing_endian_conversion(debian_headers, tmp_path):
    # The gate must be able to fail: drop one cpu_to_le16() and build.
    src = kbuild.copy_sources(str(tmp_path / "kernel"))
    core = os.path.join(src, "vgpio_core.c")
    text = open(core).read()
    assert "msg->line = cpu_to_le16(line);" in text
    open(core, "w").write(text.replace("msg->line = cpu_to_le16(line);",
                                       "msg->line = line;"))
    broken = kbuild.build(src, debian_headers[0], "W=1", "C=1")
    assert any("different base types" in d for d in broken.diagnostics())


def test_modinfo_shows_alias_license_description_version(module_build, debian_headers):
    info = subprocess.run(["modinfo", module_build.ko], check=True,
                          capture_output=True, text=True).stdout
    fields = {}
    for line in info.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), []).append(value.strip())
    # Device IDs 30 (seed) and 41 (standard).
    assert sorted(fields["alias"]) == ["virtio:d0000001Ev*", "virtio:d00000029v*"]
    assert fields["license"] == ["GPL"]
    assert "virtio-gpio" in fields["description"][0]
    assert fields["version"] == ["0.1.0"]
    assert fields["vermagic"][0].startswith(debian_headers[1] + " ")
    assert any(p.startswith("timeout_ms:") for p in fields["parm"])


def test_checkpatch_strict_is_clean(linux_source):
    checkpatch = os.path.join(linux_source, "scripts", "checkpatch.pl")
    files = [os.path.join(kbuild.KERNEL_SRC, f) for f in CHECKPATCH_FILES]
    proc = subprocess.run(["perl", checkpatch, "--strict", "--no-tree",
                           "--terse", "--show-types", "-f"] + files,
                          capture_output=True, text=True)
    findings = [line for line in proc.stdout.splitlines()
                if not line.startswith("total:")]
    assert findings == [], proc.stdout
    assert proc.returncode == 0


def test_checkpatch_gate_can_fail(linux_source, tmp_path):
    bad = tmp_path / "bad.c"
    bad.write_text("// SPDX-License-Identifier: GPL-2.0\nint  x ;\n")
    checkpatch = os.path.join(linux_source, "scripts", "checkpatch.pl")
    proc = subprocess.run(["perl", checkpatch, "--strict", "--no-tree",
                           "--terse", "-f", str(bad)], capture_output=True,
                          text=True)
    assert proc.returncode != 0


def test_versions_agree():
    setup = open(os.path.join(kbuild.ROOT, "setup.py")).read()
    glue = open(os.path.join(kbuild.KERNEL_SRC, "gpio-virtio.c")).read()
    dkms = open(os.path.join(kbuild.KERNEL_SRC, "dkms.conf")).read()
    import virtio_gpio
    version = virtio_gpio.__version__
    assert 'version="%s"' % version in setup
    assert 'MODULE_VERSION("%s")' % version in glue
    assert 'PACKAGE_VERSION="%s"' % version in dkms


class TestKdirDefault:
    """kernel/Makefile picks KDIR sensibly and says clearly when it can't."""

    def run(self, *args):
        env = {k: v for k, v in os.environ.items() if k != "KDIR"}
        return subprocess.run(["make", "-C", kbuild.KERNEL_SRC, "kdir"] +
                              list(args), capture_output=True, text=True,
                              env=env)

    def test_default_is_running_kernel_build_dir_or_newest_headers(self):
        proc = self.run()
        assert proc.returncode == 0, proc.stderr
        running = "/lib/modules/%s/build" % os.uname().release
        if os.path.isdir(running):
            expected = running
        else:
            expected = sorted(
                (d.rstrip("/") for d in glob.glob("/usr/src/linux-headers-*/")
                 if os.path.isfile(os.path.join(d, "Module.symvers"))),
                key=lambda d: kbuild.version_key(os.path.basename(d)))[-1]
        assert "KDIR=%s\n" % expected in proc.stdout

    def test_explicit_kdir_wins(self, debian_headers):
        proc = self.run("KDIR=" + debian_headers[0])
        assert "KDIR=%s\n" % debian_headers[0] in proc.stdout

    def test_empty_kdir_is_a_clear_error(self):
        proc = self.run("KDIR=")
        assert proc.returncode != 0
        assert "no kernel build tree found" in proc.stderr
        assert "linux-headers" in proc.stderr

    def test_wrong_kdir_is_a_clear_error(self, tmp_path):
        proc = self.run("KDIR=%s" % tmp_path)
        assert proc.returncode != 0
        assert "is not a kernel build tree" in proc.stderr
