"""The Kconfig lint on small trees: the robot's fixture tree and trees
written here. Rules, compatibility steps, staging, the command line, and
the kernel's conf (Debian's linux-kbuild-6.1) as second opinion. The real
trees: tests/system/test_kconfig_lint_real_trees.py."""

import os
import re
import shutil
import stat

import pytest

from kconfig_lint import ROBOT, SNIPPET, V3_PATCH, lint, rules_of
from virtio_gpio.kconfig import cli, kconfiglib_compat, tree

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


# -- the robot's fixture -------------------------------------------------

def test_an_entry_selecting_virtio_reproduces_the_robots_loop(capsys):
    # The 2020 patch (v3) selected VIRTIO; the kernel test robot reported
    # the loop that closes.
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


def satisfiability(capsys, tmp_path, config):
    """(exit status, report, GPIO_VIRTIO's verdict) of our snippet in the
    robot's tree under the .config text ``config``, conf asked too."""
    path = tmp_path / "config"
    path.write_text(config)
    code, report = lint(capsys, "--tree", ROBOT, "--snippet", SNIPPET,
                        "--config", str(path), "--conf-check")
    return code, report, report["reports"][0]["satisfiability"]["GPIO_VIRTIO"]


def test_satisfiability_names_the_blocking_dependency(capsys, tmp_path):
    code, report, verdict = satisfiability(
        capsys, tmp_path, "CONFIG_MODULES=y\nCONFIG_GPIOLIB=y\n"
        "# CONFIG_VIRTIO_PCI is not set\n")
    assert verdict["reachable"] == {"m": False, "y": False}
    assert verdict["blockers"]["m"] == ["VIRTIO=n"]
    assert report["reports"][0]["conf"]["reachable"]["GPIO_VIRTIO"] == {
        "m": False, "y": False}
    assert code == 1 and rules_of(report) == ["unreachable"]


def test_satisfiability_m_only_when_virtio_is_m(capsys, tmp_path):
    code, report, verdict = satisfiability(
        capsys, tmp_path, "CONFIG_MODULES=y\nCONFIG_GPIOLIB=y\n"
        "CONFIG_VIRTIO_PCI=m\n")
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
