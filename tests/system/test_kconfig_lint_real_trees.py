"""The Kconfig lint on Debian's real trees (6.1, 6.12 and the newest) for
x86 and arm64, and kconfiglib after the compatibility steps against the
conf each tree builds. The small fixture trees:
tests/unit/test_kconfig_lint.py."""

import os
import re
import shutil
import subprocess
import time

import kconfiglib
import pytest

from kconfig_lint import ROOT, SNIPPET, V3_PATCH, lint, rules_of
from virtio_gpio.kconfig import conf, kconfiglib_compat, tree

# -- newer Kconfig syntax: kconfiglib (after compat) against conf ---------

SEMANTICS_TREE = """\
config MODULES
\tbool "modules"
\tdefault y
\tmodules

config X
\ttristate "X"

config Y
\ttristate "Y"

config FOO
\ttristate "FOO"
\tdepends on X if %s
"""


@pytest.mark.parametrize("cond", ["Y", "!Y"])
def test_conditional_depends_means_what_conf_means(tmp_path, conf_for, cond):
    """Every X, Y in n/m/y: kconfiglib on the rewritten line gives FOO the
    value the newest tree's own conf gives it for the original line."""
    binary = conf_for("newest")
    src = tmp_path / "src"
    src.mkdir()
    (src / "Kconfig").write_text(SEMANTICS_TREE % cond)
    staged = tree.stage(str(src), str(tmp_path / "staged"))
    assert set(staged.compat_steps) == {"modules", "conditional-depends"}
    kconf = tree.load(staged.root, "x86").kconf
    compared = 0
    for x in "nmy":
        for y in "nmy":
            config = "CONFIG_MODULES=y\nCONFIG_FOO=y\n" + "".join(
                "CONFIG_%s=%s\n" % (n, v) if v != "n" else
                "# CONFIG_%s is not set\n" % n for n, v in (("X", x), ("Y", y)))
            proc, result = conf._run(binary, str(src), "x86", config)
            assert proc.returncode == 0, proc.stderr
            theirs = conf.values(result).get("FOO", "n")
            path = tmp_path / "config"
            path.write_text(config)
            kconf.load_config(str(path))
            assert (x, y, kconf.syms["FOO"].str_value) == (x, y, theirs)
            compared += 1
    assert compared == 9


def test_transitional_difference_is_the_documented_one(tmp_path, conf_for):
    """conf carries an old .config value of a transitional symbol over to
    its successor; kconfiglib, after the compat step, does not (the
    step's note says so, and the conf cross-check guards the snippet's
    verdicts)."""
    binary = conf_for("newest")
    src = tmp_path / "src"
    src.mkdir()
    (src / "Kconfig").write_text(
        'config NEW\n\tbool "new"\n\tdefault OLD\n\n'
        'config OLD\n\tbool\n\ttransitional\n\thelp\n\t  old name\n')
    proc, result = conf._run(binary, str(src), "x86", "CONFIG_OLD=y\n")
    assert proc.returncode == 0, proc.stderr
    assert conf.values(result) == {"NEW": "y"}  # OLD is not written out
    staged = tree.stage(str(src), str(tmp_path / "staged"))
    kconf = tree.load(staged.root, "x86").kconf
    path = tmp_path / "config"
    path.write_text("CONFIG_OLD=y\n")
    kconf.load_config(str(path))
    assert kconf.syms["NEW"].str_value == "n"
    note = kconfiglib_compat.NOTE
    assert "transitional" in note and "n whatever" in note


# -- real Debian trees: 6.1, 6.12 and the newest, x86 and arm64 -------------

SERIES = ("6.1", "6.12", "newest")
ARCHS = ("x86", "arm64")
# 6.1 was also linted for i386 before the newer trees came; keep it.
REAL = [(s, a) for s in SERIES for a in ARCHS] + [("6.1", "i386")]

# The compatibility steps each fixed series needs; the newest is found at
# run time, so its set is what staging reports (each one proven needed).
EXPECTED_STEPS = {"6.1": {"modules"}, "6.12": {"modules"}}

# What kconfiglib 14.1 says when a step is missing: the construct it
# stops at.
STEP_ERROR = {
    "modules": r"modules",
    "transitional": r"couldn't parse 'transitional'",
    "conditional-depends": r"couldn't parse 'depends on \S.* if ",
}

# Random configurations per tree: about 0.1-0.4 s each on a whole tree. The
# invariants are the snippet's; 6.1 keeps its 200, newer trees check 50.
RANDOM_CONFIGS = {"6.1": 200}


@pytest.fixture(scope="session")
def source_tree():
    """series -> Debian's unpacked linux-source tree (tools/linux-source)."""
    found = {}

    def get(series):
        if series not in found:
            found[series] = subprocess.run(
                [os.path.join(ROOT, "tools", "linux-source"), series],
                check=True, capture_output=True, text=True).stdout.strip()
        return found[series]
    return get


@pytest.fixture(scope="session")
def conf_for(source_tree, timings):
    """series -> conf built from that tree's scripts/kconfig (cached)."""
    built = {}

    def get(series):
        if series not in built:
            start = time.monotonic()
            built[series] = conf.for_tree(source_tree(series))
            timings.append("conf from %s's scripts/kconfig (built or cached): "
                           "%.1f s" % (os.path.basename(source_tree(series)),
                                       time.monotonic() - start))
        return built[series]
    return get


@pytest.fixture(scope="session")
def staged_tree(source_tree, tmp_path_factory):
    """(series, steps) -> the tree staged with those compat steps (and no
    snippet), shared by tests: staging does not depend on the arch."""
    staged = {}

    def get(series, steps=None):
        key = (series, None if steps is None else frozenset(steps))
        if key not in staged:
            dest = tmp_path_factory.mktemp("staged") / "tree"
            staged[key] = tree.stage(source_tree(series), str(dest),
                                     compat=True if steps is None else steps)
        return staged[key]
    return get


def _version_key(path):
    return [int(n) if n.isdigit() else n
            for n in re.split(r"(\d+)", os.path.basename(path))]


def debian_config(series):
    """The newest installed /boot/config of ``series``; for the newest tree,
    the newest installed of any series (what a user upgrading starts from)."""
    configs = sorted((os.path.join("/boot", n) for n in os.listdir("/boot")
                      if n.startswith("config-")), key=_version_key)
    if series != "newest":
        configs = [c for c in configs
                   if os.path.basename(c).startswith("config-%s." % series)]
    assert configs, "no /boot/config for %s" % series
    return configs[-1]


def test_real_tree_needs_the_compat_step(linux_source):
    with pytest.raises(kconfiglib.KconfigError, match="modules"):
        tree.load(linux_source, "x86")


@pytest.mark.parametrize("series,arch", REAL)
def test_each_compat_step_is_needed_on_real_tree(staged_tree, source_tree,
                                                 timings, series, arch):
    start = time.monotonic()
    full = staged_tree(series)
    staged_in = time.monotonic() - start
    applied = set(full.compat_steps)
    assert applied <= set(kconfiglib_compat.NAMES) and applied
    if series in EXPECTED_STEPS:
        assert applied == EXPECTED_STEPS[series]
    start = time.monotonic()
    parsed = tree.load(full.root, arch)
    timings.append("kconfiglib load of %s (%s): %.1f s (staging %.1f s)"
                   % (os.path.basename(source_tree(series)), arch,
                      time.monotonic() - start, staged_in))
    assert parsed.kconfiglib_loop is None
    assert "GPIOLIB" in parsed.kconf.syms
    # Without any one step, kconfiglib stops at that step's construct.
    for name in sorted(applied):
        without = staged_tree(series, applied - {name})
        with pytest.raises(kconfiglib.KconfigError, match=STEP_ERROR[name]):
            tree.load(without.root, arch)


def test_every_compat_step_is_needed_by_some_tree(staged_tree):
    used = set()
    for series in SERIES:
        used |= set(staged_tree(series).compat_steps)
    assert used == set(kconfiglib_compat.NAMES)


def inside(path, directory):
    return os.path.commonpath([path, directory]) == directory


def test_conf_is_built_from_each_tree(source_tree, conf_for):
    binaries = {series: conf_for(series) for series in SERIES}
    assert len(set(binaries.values())) == len(SERIES)
    for series, binary in binaries.items():
        name = os.path.basename(source_tree(series))
        assert os.path.basename(os.path.dirname(binary)).startswith(name + "-")
        assert os.access(binary, os.X_OK)
        # neither in the (shared) source tree nor in the checkout; by path
        # components: a cache at /tmp/x-cache is not inside /tmp/x
        assert not inside(binary, source_tree(series))
        assert not inside(binary, ROOT)


def test_older_conf_cannot_read_the_newest_tree(staged_tree, conf_for):
    # Why conf is built per tree: 6.1's parser stops at newer syntax.
    newest = staged_tree("newest", ()).root
    with pytest.raises(conf.ConfError):
        conf.recursive_dependencies(newest, "x86", conf_for("6.1"))
    assert conf.recursive_dependencies(newest, "x86",
                                       conf_for("newest")) == []


def test_conf_cache_is_keyed_by_the_tree_sources(source_tree, conf_for,
                                                 tmp_path, monkeypatch):
    monkeypatch.setenv("VGPIO_CACHE_DIR", str(tmp_path / "cache"))
    copy = tmp_path / "linux-source-6.1"
    for sub in ("scripts/kconfig", "scripts/include"):
        src = os.path.join(source_tree("6.1"), sub)
        if os.path.isdir(src):
            shutil.copytree(src, str(copy / sub),
                            ignore=shutil.ignore_patterns("tests"))
    first = conf.build(str(copy))
    assert conf.build(str(copy)) == first
    with open(str(copy / "scripts" / "kconfig" / "conf.c"), "a") as f:
        f.write("/* changed */\n")
    second = conf.build(str(copy))
    assert second != first and os.access(second, os.X_OK)


def _expected_verdict(config):
    with open(config) as f:
        virtio = conf.values(f.read()).get("VIRTIO")
    if virtio == "m":
        return {"m": True, "y": False}, ["VIRTIO=m"]
    assert virtio == "y", "%s: VIRTIO=%s" % (config, virtio)
    return {"m": True, "y": True}, []


@pytest.mark.parametrize("series,arch", REAL)
def test_snippet_clean_on_real_tree(capsys, source_tree, conf_for, series,
                                    arch):
    config = debian_config(series)
    count = RANDOM_CONFIGS.get(series, 50)
    code, report = lint(capsys, "--tree", source_tree(series), "--snippet",
                        SNIPPET, "--arch", arch, "--config", config,
                        "--conf-check", "--random", str(count))
    (r,) = report["reports"]
    assert code == 0, r["findings"]
    assert r["snippet"] == {"inserted_into": "drivers/gpio/Kconfig",
                            "replaced_existing": True}
    if series == "6.1":
        assert r["compat_rewrites"] == ["kernel/module/Kconfig:4"]
    assert r["compat_steps"]["modules"] == ["kernel/module/Kconfig:4"]
    if series in EXPECTED_STEPS:
        assert set(r["compat_steps"]) == EXPECTED_STEPS[series]
    # The second opinion came from this tree's own conf.
    assert r["conf"]["binary"] == conf_for(series)
    assert r["loops"] == [] and r["conf"]["recursive_dependency"] == []
    verdict = r["satisfiability"]["GPIO_VIRTIO"]
    reachable, y_blockers = _expected_verdict(config)
    assert verdict["reachable"] == reachable
    assert verdict["blockers"]["y"] == y_blockers
    assert r["conf"]["reachable"]["GPIO_VIRTIO"] == verdict["reachable"]
    random = r["random"]["GPIO_VIRTIO"]
    assert random["configs"] == count and random["enabled"] > 0
    assert "VIRTIO" in random["at_least"]
    assert random["must_be_y"] == ["GPIOLIB_IRQCHIP"]


@pytest.mark.parametrize("series,arch", REAL)
def test_an_entry_selecting_virtio_is_flagged_on_real_tree(capsys, source_tree,
                                                          series, arch):
    # The 2020 patch (v3) selected VIRTIO. Since 2020 DRM_VIRTIO_GPU selects
    # VIRTIO, so these trees have no loop; the select-of-a-bus rule still
    # catches the entry on every tree.
    code, report = lint(capsys, "--tree", source_tree(series), "--snippet",
                        V3_PATCH, "--arch", arch, "--conf-check")
    (r,) = report["reports"]
    assert code == 1
    assert rules_of(report) == ["select-bus"]
    assert r["loops"] == [] and r["conf"]["recursive_dependency"] == []
