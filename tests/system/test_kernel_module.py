"""Quality gates of vgpio.ko against every supported kernel series."""

import glob
import os
import re
import subprocess
import sys
import time

import pytest

import kbuild
from virtio_gpio.guests import kernels

CHECKPATCH_FILES = ["gpio-virtio.c", "vgpio_compat.h", "vgpio_core.c",
                    "vgpio_core.h", "vgpio_core_priv.h", "vgpio_id30.c",
                    "vgpio_std.c", "vgpio_id30_proto.h", "vgpio_std_proto.h",
                    "vgpio_version.h", "os/linux/vgpio_os.h", "Kbuild"]
CHECKPATCH_IGNORE = {}
SOURCES = {"gpio-virtio.c", "vgpio_core.c", "vgpio_id30.c", "vgpio_std.c"}


@pytest.fixture(scope="module", params=kernels.SERIES)
def series_headers(request):
    """(series, kdir, release) of each supported series; the newest tree
    is prepared (or taken from the cache) with progress on the terminal."""
    kdir, release = kernels.headers(request.param, stream=sys.__stderr__)
    return request.param, kdir, release


@pytest.fixture(scope="module")
def series_build(series_headers, tmp_path_factory, timings):
    """vgpio.ko built for one series from a private copy, W=1 and C=1."""
    series, kdir, release = series_headers
    src = kbuild.copy_sources(str(tmp_path_factory.mktemp("kbuild-" + series)
                                  / "kernel"))
    start = time.monotonic()
    build = kbuild.build(src, kdir, "W=1", "C=1")
    timings.append("vgpio.ko build against %s (W=1 C=1, from clean): %.1f s"
                   % (release, time.monotonic() - start))
    return build


def test_module_builds_with_w1_and_sparse_without_diagnostics(series_build):
    assert series_build.returncode == 0, series_build.log
    assert series_build.diagnostics() == []
    assert os.path.isfile(series_build.ko)


def test_sparse_checked_every_source(series_build):
    checked = set(re.findall(r"CHECK\s+(\S+\.c)$", series_build.log,
                             re.MULTILINE))
    assert {os.path.basename(c) for c in checked} == SOURCES, series_build.log


def test_compat_header_is_feature_keyed_and_used_by_the_glue_only():
    # Every branch names the upstream change and tests a feature Kbuild
    # defines from the headers, never the version number; the core never
    # sees either.
    compat = open(os.path.join(kbuild.KERNEL_SRC, "vgpio_compat.h")).read()
    kbuild_file = open(os.path.join(kbuild.KERNEL_SRC, "Kbuild")).read()
    defined = set(re.findall(r",(VGPIO_HAVE_\w+)\)$", kbuild_file,
                             re.MULTILINE))
    lines = compat.splitlines()
    branches = [i for i, line in enumerate(lines)
                if re.match(r"#(if|ifdef|ifndef)\b", line)
                and "VGPIO_COMPAT_H" not in line]
    assert branches
    for i in branches:
        assert set(re.findall(r"VGPIO_HAVE_\w+", lines[i])) <= defined, \
            lines[i]
        assert re.search(r"VGPIO_HAVE_\w+", lines[i]), lines[i]
        comment = "\n".join(lines[max(0, i - 4):i])
        assert re.search(r"\d+\.\d+: .+", comment), lines[i]
    assert "LINUX_VERSION_CODE" not in compat
    for name in SOURCES | {"vgpio_core.h", "vgpio_core_priv.h",
                           "os/linux/vgpio_os.h"}:
        text = open(os.path.join(kbuild.KERNEL_SRC, name)).read()
        assert "LINUX_VERSION_CODE" not in text, name
        assert ("vgpio_compat.h" in text) == (name == "gpio-virtio.c"), name


#: the kernel API features Kbuild finds in each series' headers: Debian's
#: 6.12 carries gpio_chip.set_rv (from 6.15) and system_percpu_wq, which
#: its version number would not tell; the virtio reset hooks came later
FEATURES = {"6.1": set(),
            "6.12": {"VGPIO_HAVE_VQ_INFO", "VGPIO_HAVE_SET_RV",
                     "VGPIO_HAVE_SYSTEM_PERCPU_WQ"},
            "newest": {"VGPIO_HAVE_VQ_INFO", "VGPIO_HAVE_INT_SET",
                       "VGPIO_HAVE_SYSTEM_PERCPU_WQ",
                       "VGPIO_HAVE_VIRTIO_RESET_HOOKS"}}


def test_kbuild_finds_each_series_features(series_headers, series_build):
    with open(os.path.join(series_build.out, ".gpio-virtio.o.cmd")) as f:
        found = set(re.findall(r"-D(VGPIO_HAVE_\w+)", f.read()))
    if series_headers[0] == "newest":
        assert FEATURES["newest"] <= found, found
    else:
        assert found == FEATURES[series_headers[0]], found


def test_kernels_module_imports_without_the_c_extension():
    # The Makefile prepares the trees before the C extension exists: load
    # guests/kernels.py from the checkout under a bare package, nothing
    # else.
    code = ("import sys, types\n"
            "pkg = types.ModuleType('virtio_gpio')\n"
            "pkg.__path__ = [sys.argv[1]]\n"
            "sys.modules['virtio_gpio'] = pkg\n"
            "from virtio_gpio.guests import kernels\n"
            "assert not [m for m in sys.modules if m.startswith('_cffi')]\n"
            "assert 'virtio_gpio._binding' not in sys.modules\n"
            "print(' '.join(kernels.SERIES))\n")
    proc = subprocess.run([sys.executable, "-c", code,
                           os.path.join(kbuild.ROOT, "python", "virtio_gpio")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["6.1", "6.12", "newest"]


def test_newest_tree_is_cached_alone_under_its_key():
    # Keyed by series, package version and config fragment; a tree for an
    # older package or fragment is gone once the current one is prepared.
    kdir, release = kernels.headers("newest", stream=sys.__stderr__)
    name, version = kernels.source_version("newest")
    assert os.path.basename(kdir) == kernels.tree_key(name, version)
    assert release.startswith(name + ".")
    root = os.path.dirname(kdir)
    assert glob.glob(os.path.join(root, kernels.TREE_PREFIX + "*")) == [kdir]
    config = open(os.path.join(kdir, ".config")).read().splitlines()
    for line in kernels.CONFIG_FRAGMENT.splitlines():
        assert line in config
    assert os.path.isfile(os.path.join(kdir, "Module.symvers"))
    assert kernels.tree_key(name, version + "+1") != kernels.tree_key(name, version)


def test_sparse_catches_missing_endian_conversion(series_headers, tmp_path):
    # The gate must be able to fail, on every series: drop one
    # cpu_to_le16() and build.
    src = kbuild.copy_sources(str(tmp_path / "kernel"))
    core = os.path.join(src, "vgpio_core.c")
    text = open(core).read()
    assert "msg->line = cpu_to_le16(line);" in text
    open(core, "w").write(text.replace("msg->line = cpu_to_le16(line);",
                                       "msg->line = line;"))
    broken = kbuild.build(src, series_headers[1], "W=1", "C=1")
    assert any("different base types" in d for d in broken.diagnostics())


#: what each series' headers offer that the glue adapts to: 6.1 has only
#: system_wq (7.3 marks it for removal), Debian's 6.12 carries
#: system_percpu_wq as a backport, the virtio reset hooks came after 6.12
HEADER_FEATURES = {
    "6.1": {"wq": "system_wq", "reset_hooks": False},
    "6.12": {"wq": "system_percpu_wq", "reset_hooks": False},
    "newest": {"wq": "system_percpu_wq", "reset_hooks": True},
}


def readelf(ko, *args):
    return subprocess.run(["readelf", "-W"] + list(args) + [ko], check=True,
                          capture_output=True, text=True).stdout


def imports(ko):
    """The symbols the module takes from the kernel."""
    out = subprocess.run(["nm", "-u", ko], check=True, capture_output=True,
                         text=True).stdout
    return {line.split()[-1] for line in out.splitlines()}


def data_pointers_to(ko, function):
    """How many pointers in the module's .data point at the static
    ``function``: relocations of .data naming its "section + offset"."""
    sections = dict(re.findall(r"^\s*\[\s*(\d+)\] (\S+)",
                               readelf(ko, "-S"), re.M))
    (value, ndx), = re.findall(
        r"^\s*\d+: ([0-9a-f]+)\s+\d+ FUNC\s+LOCAL\s+\S+\s+(\d+) %s$"
        % re.escape(function), readelf(ko, "-s"), re.M)
    target = "%s + %x" % (sections[ndx], int(value, 16))
    data = readelf(ko, "-r").split("Relocation section '.rela.data'")[1]
    data = data.split("Relocation section")[0]
    return sum(1 for line in data.splitlines() if line.endswith(" " + target))


def test_workqueue_and_pm_hooks_follow_the_headers(series_build,
                                                    series_headers):
    assert series_build.returncode == 0, series_build.log
    want = HEADER_FEATURES[series_headers[0]]
    assert imports(series_build.ko) & {"system_wq", "system_percpu_wq"} \
        == {want["wq"]}
    # In struct virtio_driver: .freeze where the kernel sleeps
    # (CONFIG_PM_SLEEP; 6.1 has the member only with CONFIG_PM), and
    # .reset_prepare where the kernel has it, quiesce; .restore and
    # .reset_done resume.
    hooks = data_pointers_to(series_build.ko, "vgpio_drv_quiesce")
    assert hooks == (int(want["reset_hooks"]) +
                     int(config_set(series_headers[1], "CONFIG_PM_SLEEP"))), \
        hooks
    assert data_pointers_to(series_build.ko, "vgpio_drv_resume") == hooks


def config_set(kdir, option):
    """Whether the kernel tree ``kdir`` was configured with ``option``=y."""
    with open(os.path.join(kdir, ".config")) as f:
        return any(line.strip() == option + "=y" for line in f)


def modinfo(ko):
    info = subprocess.run(["modinfo", ko], check=True, capture_output=True,
                          text=True).stdout
    fields = {}
    for line in info.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), []).append(value.strip())
    return fields


def test_modinfo_shows_alias_license_description_version(series_build,
                                                          series_headers):
    assert series_build.returncode == 0, series_build.log
    fields = modinfo(series_build.ko)
    # Only device ID 41 autoloads the module; ID 30 (the virtio spec's
    # video encoder, the 2020 proposal's GPIO) is bound with bind_id30=1.
    assert fields["alias"] == ["virtio:d00000029v*"]
    assert fields["license"] == ["GPL"]
    assert "virtio-gpio" in fields["description"][0]
    assert fields["version"] == [kbuild.project_version()]
    assert fields["vermagic"][0].startswith(series_headers[2] + " ")
    assert any(p.startswith("timeout_ms:") for p in fields["parm"])
    assert any(p.startswith("bind_id30:") and "(bool)" in p
               for p in fields["parm"])


def checkpatch(linux_source, cwd, *args):
    """checkpatch.pl --strict --no-tree, run in ``cwd``: with --strict it
    writes a cache of the kernel's CamelCase names into its working
    directory (.checkpatch-camelcase.*), which must not be the checkout."""
    script = os.path.join(linux_source, "scripts", "checkpatch.pl")
    return subprocess.run(["perl", script, "--strict", "--no-tree"] +
                          list(args), cwd=cwd, capture_output=True, text=True)


@pytest.mark.parametrize("name", CHECKPATCH_FILES)
def test_checkpatch_strict_is_clean(linux_source, name, tmp_path):
    ignore = (["--ignore", CHECKPATCH_IGNORE[name]]
              if name in CHECKPATCH_IGNORE else [])
    proc = checkpatch(linux_source, tmp_path, "--terse", "--show-types",
                      *ignore, "-f", os.path.join(kbuild.KERNEL_SRC, name))
    findings = [line for line in proc.stdout.splitlines()
                if not line.startswith("total:")]
    assert findings == [], proc.stdout
    assert proc.returncode == 0


def test_checkpatch_covers_every_kernel_source():
    # The sources are what git tracks: a module built by hand in kernel/
    # leaves vgpio.mod.c there, which is no source to check.
    sources = {p for p in kbuild.tracked_sources()
               if p.endswith((".c", ".h"))
               and os.path.dirname(p) in ("", "os/linux")}
    assert "vgpio_core.c" in sources
    assert sources <= set(CHECKPATCH_FILES)


def test_checkpatch_gate_can_fail(linux_source, tmp_path):
    bad = tmp_path / "bad.c"
    bad.write_text("// SPDX-License-Identifier: GPL-2.0\nint  x ;\n")
    proc = checkpatch(linux_source, tmp_path, "--terse", "-f", str(bad))
    assert proc.returncode != 0


def test_checkpatch_leaves_its_cache_outside_the_checkout(linux_source,
                                                           tmp_path):
    # A CamelCase name makes --strict seed and write its cache.
    camel = tmp_path / "camel.c"
    camel.write_text("// SPDX-License-Identifier: GPL-2.0\nint fooBar;\n")
    work = tmp_path / "work"
    work.mkdir()
    proc = checkpatch(linux_source, work, "--terse", "--show-types",
                      "-f", str(camel))
    assert "CAMELCASE" in proc.stdout, proc.stdout + proc.stderr
    assert glob.glob(str(work / ".checkpatch-camelcase.*"))


def test_make_module_writes_nothing_into_kernel(debian_headers, tmp_path):
    # README's "bash tools/run main" builds the module before "bash
    # tools/run test" checks kernel/: its outputs must land in BUILD.
    def untracked():
        status = subprocess.run(
            ["git", "status", "--porcelain", "--ignored", "--", "kernel"],
            cwd=kbuild.ROOT, check=True, capture_output=True, text=True)
        return {line for line in status.stdout.splitlines()
                if line.startswith(("??", "!!"))}

    before = untracked()
    proc = subprocess.run(["make", "module", "BUILD=%s" % tmp_path,
                           "KDIR=" + debian_headers[0]], cwd=kbuild.ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ko = tmp_path / "module" / "vgpio.ko"
    assert ko.is_file()
    assert "module: %s\n" % ko in proc.stdout
    assert untracked() - before == set()


def test_every_version_comes_from_vgpio_version_h():
    # The header is the one place the version is written; dkms.conf reads
    # it when DKMS sources it, the Python package's metadata and
    # Documentation/conf.py through setup.py and a regex. (modinfo's
    # version: test_modinfo_shows_alias_license_description_version.)
    version = kbuild.project_version()
    dkms = subprocess.run(
        ["bash", "-c", '. "$1" && echo "$PACKAGE_VERSION"', "-",
         os.path.join(kbuild.KERNEL_SRC, "dkms.conf")],
        check=True, capture_output=True, text=True).stdout.strip()
    import virtio_gpio
    assert (virtio_gpio.__version__, dkms) == (version, version)
    # The version string as a whole word, in every tracked file but prose.
    pattern = r"(^|[^0-9.])%s([^0-9]|$)" % version.replace(".", r"\.")
    grep = subprocess.run(
        ["git", "grep", "-n", "-E", pattern, "--", ".", ":!*.rst", ":!*.md"],
        cwd=kbuild.ROOT, capture_output=True, text=True)
    # 0: found (the header at least); anything but 0 means git did not look.
    assert grep.returncode == 0, grep.stderr
    written = grep.stdout.splitlines()
    assert any(w.startswith("kernel/vgpio_version.h:") for w in written)
    assert [w for w in written if not w.startswith(
        "kernel/vgpio_version.h:")] == []


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


def test_the_chip_outlives_unbind_only_where_gpiolib_does_not_wait(
        series_headers, series_build):
    # gpiolib waits for its callers from 6.9 (SRCU): the chip is kept
    # past unbind on 6.1 only, and freed with the device on the others.
    with open(os.path.join(series_build.out, ".gpio-virtio.o.cmd")) as f:
        kept = "-DVGPIO_GPIOLIB_WAITS_FOR_CALLERS" not in f.read()
    assert kept == (series_headers[0] == "6.1")
