"""The Kconfig lint: robot fixture, real trees (6.1, 6.12, newest) for x86
and arm64, rules, compatibility steps, conf cross-check."""

import json
import os
import re
import shutil
import stat
import subprocess
import time

import kconfiglib
import pytest

from virtio_gpio.kconfig import cli, conf, kconfiglib_compat, tree

pytestmark = pytest.mark.system

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "kconfig")
ROBOT = os.path.join(FIXTURES, "robot")
V3_PATCH = os.path.join(FIXTURES, "v3-patch.snippet")
SNIPPET = os.path.join(ROOT, "Kconfig.snippet")

# The chain exactly as the kernel test robot printed it.
ROBOT_CHAIN = {
    ("I2C", "is selected by", "FB_DDC"),
    ("FB_DDC", "depends on", "FB"),
    ("FB", "is selected by", "DRM_KMS_FB_HELPER"),
    ("DRM_KMS_FB_HELPER", "depends on", "DRM_KMS_HELPER"),
    ("DRM_KMS_HELPER", "is selected by", "DRM_VIRTIO_GPU"),
    ("DRM_VIRTIO_GPU", "depends on", "VIRTIO"),
    ("VIRTIO", "is selected by", "GPIO_VIRTIO"),
    ("GPIO_VIRTIO", "depends on", "GPIOLIB"),
    ("GPIOLIB", "is selected by", "I2C_MUX_LTC4306"),
    ("I2C_MUX_LTC4306", "depends on", "I2C"),
}


def lint(capsys, *args):
    code = cli.main(list(args) + ["--format", "json"])
    out = capsys.readouterr().out
    return code, (json.loads(out) if out.strip().startswith("{") else None)


def rules_of(report):
    return sorted({f["rule"] for r in report["reports"] for f in r["findings"]})


# -- the robot's fixture -------------------------------------------------

def test_v3_patch_entry_reproduces_robot_loop(capsys):
    code, report = lint(capsys, "--tree", ROBOT, "--snippet", V3_PATCH,
                        "--conf-check")
    assert code == 1
    (arch,) = report["reports"]
    (loop,) = arch["loops"]
    assert {(s["symbol"], s["relation"], s["other"]) for s in loop} == ROBOT_CHAIN
    assert loop[0]["symbol"] == "GPIO_VIRTIO"
    assert rules_of(report) == ["loop", "select-bus"]
    # The kernel's own conf agrees that the tree has a loop.
    assert any("recursive dependency" in line
               for line in arch["conf"]["recursive_dependency"])


def test_our_snippet_is_clean_on_robot_fixture(capsys):
    code, report = lint(capsys, "--tree", ROBOT, "--snippet", SNIPPET,
                        "--conf-check")
    assert (code, rules_of(report)) == (0, [])
    assert report["reports"][0]["conf"]["recursive_dependency"] == []


def test_human_output_prints_chain_like_kconfig(capsys):
    code = cli.main(["--tree", ROBOT, "--snippet", V3_PATCH])
    out = capsys.readouterr().out
    assert code == 1
    assert "error: recursive dependency detected!" in out
    assert "drivers/virtio/Kconfig:2: symbol VIRTIO is selected by GPIO_VIRTIO" in out
    assert "verdict: 2 finding(s)" in out


def _config(tmp_path, text):
    path = tmp_path / "config"
    path.write_text(text)
    return str(path)


def test_satisfiability_names_the_blocking_dependency(capsys, tmp_path):
    config = _config(tmp_path, "CONFIG_MODULES=y\nCONFIG_GPIOLIB=y\n"
                     "# CONFIG_VIRTIO_PCI is not set\n")
    code, report = lint(capsys, "--tree", ROBOT, "--snippet", SNIPPET,
                        "--config", config, "--conf-check")
    verdict = report["reports"][0]["satisfiability"]["GPIO_VIRTIO"]
    assert verdict["reachable"] == {"m": False, "y": False}
    assert verdict["blockers"]["m"] == ["VIRTIO=n"]
    assert report["reports"][0]["conf"]["reachable"]["GPIO_VIRTIO"] == {
        "m": False, "y": False}
    assert code == 1 and rules_of(report) == ["unreachable"]


def test_satisfiability_m_only_when_virtio_is_m(capsys, tmp_path):
    config = _config(tmp_path, "CONFIG_MODULES=y\nCONFIG_GPIOLIB=y\n"
                     "CONFIG_VIRTIO_PCI=m\n")
    code, report = lint(capsys, "--tree", ROBOT, "--snippet", SNIPPET,
                        "--config", config, "--conf-check")
    verdict = report["reports"][0]["satisfiability"]["GPIO_VIRTIO"]
    assert code == 0
    assert verdict["reachable"] == {"m": True, "y": False}
    assert verdict["blockers"]["y"] == ["VIRTIO=m"]
    assert report["reports"][0]["conf"]["reachable"]["GPIO_VIRTIO"] == {
        "m": True, "y": False}


def test_random_configs_keep_invariants(capsys):
    code, report = lint(capsys, "--tree", ROBOT, "--snippet", SNIPPET,
                        "--random", "300")
    info = report["reports"][0]["random"]["GPIO_VIRTIO"]
    assert code == 0
    assert info["at_least"] == ["GPIOLIB", "VIRTIO"]
    assert info["must_be_y"] == ["GPIOLIB_IRQCHIP"]
    assert info["enabled"] > 30


def test_random_configs_catch_missing_virtio_dependency(tmp_path):
    # The invariant check can fail: without 'depends on VIRTIO' nothing
    # keeps VIRTIO >= GPIO_VIRTIO in random configurations.
    from virtio_gpio.kconfig import randconfig
    text = open(SNIPPET).read().replace("\tdepends on VIRTIO\n", "")
    staged = tree.stage(ROBOT, str(tmp_path / "tree"), text)
    kconf = tree.load(staged.root, "x86").kconf
    enabled, problems = randconfig.run(kconf, "GPIO_VIRTIO", 100,
                                       at_least=["VIRTIO"],
                                       must_be_y=["GPIOLIB_IRQCHIP"])
    assert enabled > 0
    assert any("but VIRTIO=n" in p for p in problems)


# -- one failing and one passing fixture per rule ---------------------------

BASE = """config GPIO_VIRTIO
\ttristate "VirtIO GPIO support"
\tdepends on VIRTIO
\tselect GPIOLIB_IRQCHIP
\thelp
\t  Guest driver for virtio GPIO devices.
"""

RULE_CASES = {
    "select-visible": BASE.replace("select GPIOLIB_IRQCHIP",
                                   "select GPIO_MOCKUP"),
    "select-with-deps": BASE.replace("select GPIOLIB_IRQCHIP",
                                     "select DRM_KMS_HELPER"),
    "select-bus": BASE.replace("select GPIOLIB_IRQCHIP", "select VIRTIO"),
    "undefined-symbol": BASE.replace("depends on VIRTIO",
                                     "depends on VIRTIO && NO_SUCH_BUS"),
    "missing-help": BASE.split("\thelp")[0],
    "type": BASE.replace('\ttristate "VirtIO GPIO support"\n', ""),
    "kconfiglib": BASE.replace('"VirtIO GPIO support"',
                               '"VirtIO GPIO support "'),
}


@pytest.mark.parametrize("rule", sorted(RULE_CASES))
def test_rule_fails_on_its_fixture(capsys, tmp_path, rule):
    snippet = tmp_path / "snippet"
    snippet.write_text(RULE_CASES[rule])
    code, report = lint(capsys, "--tree", ROBOT, "--snippet", str(snippet))
    assert code == 1
    assert rule in rules_of(report)


@pytest.mark.parametrize("rule", sorted(RULE_CASES))
def test_rule_passes_on_base(capsys, tmp_path, rule):
    snippet = tmp_path / "snippet"
    snippet.write_text(BASE)
    code, report = lint(capsys, "--tree", ROBOT, "--snippet", str(snippet))
    assert code == 0
    assert rule not in rules_of(report)


def test_every_per_symbol_rule_has_its_fixtures():
    # and kconfiglib's warnings; the other rules need options or a loop
    # and have tests of their own
    from virtio_gpio.kconfig import rules
    assert set(RULE_CASES) == {r.name for r in rules.RULES
                               if r.check} | {"kconfiglib"}


def test_help_lists_every_rule_once(capsys):
    from virtio_gpio.kconfig import rules
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    checks = out[out.index("checks:"):out.index("compatibility steps")]
    listed = re.findall(r"^  ([a-z-]+)  ", checks, re.M)
    assert listed == [r.name for r in rules.RULES]


def test_a_warning_the_snippet_brings_counts_without_naming_the_symbol(
        capsys, tmp_path):
    # The snippet also turns GPIO_MOCKUP into an int; linting GPIO_VIRTIO
    # alone, kconfiglib's warning names GPIO_MOCKUP only. The tree without
    # the snippet does not give it, so it is a finding all the same.
    snippet = tmp_path / "snippet"
    snippet.write_text(BASE + "\nconfig GPIO_MOCKUP\n\tint\n")
    code, report = lint(capsys, "--tree", ROBOT, "--snippet", str(snippet),
                        "--symbol", "GPIO_VIRTIO")
    found = [f for r in report["reports"] for f in r["findings"]
             if f["rule"] == "kconfiglib"]
    assert code == 1 and found, report
    assert all("GPIO_MOCKUP" in f["message"] for f in found), found


def test_warnings_the_tree_gives_anyway_are_not_ours(capsys, tmp_path):
    code, report = lint(capsys, "--tree", ROBOT, "--snippet", SNIPPET)
    assert code == 0, report


def _tree_with_clamped_default(tmp_path, gpio_entry=None):
    """The robot's tree plus a symbol kconfiglib warns about on its own
    (a default outside its range), and ``gpio_entry`` put in the GPIO menu
    where the lint puts a snippet."""
    root = tmp_path / "tree"
    shutil.copytree(ROBOT, root)
    with open(root / "drivers" / "virtio" / "Kconfig", "a") as f:
        f.write('\nconfig VIRTIO_CLAMPED\n\tint "clamped"\n'
                '\trange 1 10\n\tdefault 300\n')
    if gpio_entry is not None:
        gpio = root / "drivers" / "gpio" / "Kconfig"
        gpio.write_text(tree.insert_snippet(gpio.read_text(), gpio_entry)[0])
    return str(root)


def test_without_a_snippet_only_warnings_naming_the_symbol_count(
        capsys, tmp_path):
    code, report = lint(capsys, "--tree", _tree_with_clamped_default(tmp_path),
                        "--no-snippet", "--symbol", "GPIO_MOCKUP")
    assert code == 0, report


def test_a_snippet_that_ends_a_loop_is_not_blamed_for_the_trees_warnings(
        capsys, tmp_path):
    # The tree has the v3 entry (select VIRTIO: a loop); our snippet
    # replaces it. The tree without the snippet cannot be evaluated, so
    # its warnings are no baseline: only those naming GPIO_VIRTIO count.
    with open(V3_PATCH) as f:
        root = _tree_with_clamped_default(tmp_path, f.read())
    code, report = lint(capsys, "--tree", root, "--snippet", SNIPPET)
    assert code == 0, report


def test_the_lint_leaves_dev_null_a_device(capsys):
    # kconfiglib renames the file it writes a config to, unless told not
    # to; run as root, writing to os.devnull moved /dev/null away.
    lint(capsys, "--tree", ROBOT, "--snippet", SNIPPET)
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert not os.path.exists(os.devnull + ".old")


# -- staging and the compatibility step ----------------------------------

def test_snippet_replaces_existing_definition():
    text = "if GPIOLIB\nconfig GPIO_VIRTIO\n\ttristate \"old\"\n\nconfig B\n\tbool\nendif\n"
    new, replaced = tree.insert_snippet(text, BASE)
    assert replaced
    assert '"old"' not in new and new.count("config GPIO_VIRTIO") == 1
    assert new.index("config GPIO_VIRTIO") < new.index("config B")


def test_snippet_goes_into_virtual_menu_else_before_endif():
    menu = 'if GPIOLIB\nmenu "Virtual GPIO drivers"\nconfig A\n\tbool\nendmenu\nendif\n'
    new, replaced = tree.insert_snippet(menu, BASE)
    assert not replaced
    assert new.index("config GPIO_VIRTIO") < new.index("endmenu")
    plain = "if GPIOLIB\nconfig A\n\tbool\nendif\n"
    new, _ = tree.insert_snippet(plain, BASE)
    assert new.index("config GPIO_VIRTIO") < new.index("endif")


def test_compat_step_rewrites_only_bare_modules(tmp_path):
    (tmp_path / "Kconfig").write_text(
        "config MODULES\n\tbool \"m\"\n\tmodules\n\thelp\n\t  modules are nice\n")
    assert kconfiglib_compat.apply(str(tmp_path)) == [("Kconfig", 3)]
    text = (tmp_path / "Kconfig").read_text()
    assert "\toption modules\n" in text and "modules are nice" in text


def test_transitional_step_drops_only_the_attribute(tmp_path):
    (tmp_path / "Kconfig").write_text(
        "config OLD\n\tbool\n\ttransitional\n\thelp\n"
        "\t  transitional config for OLD to NEW\n")
    assert kconfiglib_compat.apply_by_step(str(tmp_path)) == {
        "transitional": [("Kconfig", 3)]}
    lines = (tmp_path / "Kconfig").read_text().splitlines()
    assert lines[2].strip().startswith("#") and len(lines) == 5
    assert "transitional config for OLD to NEW" in lines[4]


# What the kernel's parser builds for 'depends on DEP if COND':
# DEP || (COND = n), '= n' pushed into COND by expr_trans_compare.
CONDITIONAL_DEPENDS = {
    "USB if !USB_GADGET": "(USB) || USB_GADGET != n",
    "HYPERV_VMBUS if HYPERV_VMBUS": "(HYPERV_VMBUS) || HYPERV_VMBUS = n",
    "A || B if C && !D": "((A || B)) || (C = n || D != n)",
    "A if !(B || C)": "(A) || !(B = n && C = n)",
    'A if B = "m"': '(A) || !(B = "m")',
    "A && $(success,true) if B # why": "((A && $(success,true))) || B = n # why",
}


@pytest.mark.parametrize("before", sorted(CONDITIONAL_DEPENDS))
def test_conditional_depends_spelled_as_the_kernel_builds_it(before):
    after = kconfiglib_compat.rewrite_conditional_depends(
        "\tdepends on %s\n" % before)
    assert after == "\tdepends on %s\n" % CONDITIONAL_DEPENDS[before]


def test_conditional_depends_leaves_plain_depends_alone():
    for line in ("\tdepends on A || !A # if A=m, this cannot be y\n",
                 "\tdepends on $(success,true)\n", "\tdepends on MODIFY\n",
                 "\tselect A if B\n"):
        assert kconfiglib_compat.rewrite_conditional_depends(line) is None


def test_compat_steps_never_touch_help_text(tmp_path):
    text = ("config A\n\ttristate \"a\"\n\tdepends on B if C\n\thelp\n"
            "\t  This option\n\n\t  depends on the board if any\n"
            "\t  modules\n\t  transitional\n"
            "\nconfig B\n\tbool\n\ttransitional\n")
    (tmp_path / "Kconfig").write_text(text)
    assert kconfiglib_compat.apply_by_step(str(tmp_path)) == {
        "conditional-depends": [("Kconfig", 3)],
        "transitional": [("Kconfig", 13)]}
    lines = (tmp_path / "Kconfig").read_text().splitlines()
    assert lines[6:9] == text.splitlines()[6:9]


# -- command line ----------------------------------------------------------

def test_help_documents_formats_exit_codes_and_tree_options(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for text in ("--format", "human", "json", "exit status", "0  no findings",
                 "1  findings", "2  usage error", "--tree", "--snippet",
                 "--no-snippet", "--config", "option modules"):
        assert text in out


def test_usage_and_tree_errors_exit_2(capsys, tmp_path):
    assert cli.main([]) == 2
    assert cli.main(["--tree", str(tmp_path), "--snippet", SNIPPET]) == 2
    (tmp_path / "Kconfig").write_text("config A\n\tbool\n")
    assert cli.main(["--tree", str(tmp_path), "--snippet", SNIPPET]) == 2
    bad = tmp_path / "bad"
    shutil.copytree(ROBOT, str(bad))
    (bad / "drivers" / "gpio" / "Kconfig").write_text("config\n")
    assert cli.main(["--tree", str(bad), "--snippet", SNIPPET]) == 2
    assert "error" in capsys.readouterr().err


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
def test_v3_patch_entry_flagged_on_real_tree(capsys, source_tree, series, arch):
    # Since 2020 DRM_VIRTIO_GPU selects VIRTIO, so these trees have no
    # loop; the select-of-a-bus rule still catches the entry on every tree.
    code, report = lint(capsys, "--tree", source_tree(series), "--snippet",
                        V3_PATCH, "--arch", arch, "--conf-check")
    (r,) = report["reports"]
    assert code == 1
    assert rules_of(report) == ["select-bus"]
    assert r["loops"] == [] and r["conf"]["recursive_dependency"] == []
