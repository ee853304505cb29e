"""The Kconfig lint: robot fixture, real 6.1 trees, rules, conf cross-check."""

import json
import os
import shutil

import pytest

from virtio_gpio.kconfig import cli, tree

pytestmark = pytest.mark.system

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "kconfig")
ROBOT = os.path.join(FIXTURES, "robot")
SEED = os.path.join(FIXTURES, "seed-v3.snippet")
SNIPPET = os.path.join(ROOT, "Kconfig.snippet")
DEBIAN_CONFIG = sorted(p for p in
                       (os.path.join("/boot", n) for n in os.listdir("/boot"))
                       if os.path.basename(p).startswith("config-"))

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

def test_seed_entry_reproduces_robot_loop(capsys):
    code, report = lint(capsys, "--tree", ROBOT, "--snippet", SEED,
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
    code = cli.main(["--tree", ROBOT, "--snippet", SEED])
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
    assert tree.apply_compat(str(tmp_path)) == [("Kconfig", 3)]
    text = (tmp_path / "Kconfig").read_text()
    assert "\toption modules\n" in text and "modules are nice" in text


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


# -- the real Debian 6.1 tree ----------------------------------------------

def test_real_tree_needs_the_compat_step(linux_source):
    import kconfiglib
    with pytest.raises(kconfiglib.KconfigError, match="modules"):
        tree.load(linux_source, "x86")


@pytest.mark.parametrize("arch", ["x86", "i386", "arm64"])
def test_snippet_clean_on_real_tree(capsys, linux_source, arch):
    code, report = lint(capsys, "--tree", linux_source, "--snippet", SNIPPET,
                        "--arch", arch, "--config", DEBIAN_CONFIG[-1],
                        "--conf-check", "--random", "200")
    (r,) = report["reports"]
    assert code == 0, r["findings"]
    assert r["snippet"] == {"inserted_into": "drivers/gpio/Kconfig",
                            "replaced_existing": True}
    assert r["compat_rewrites"] == ["kernel/module/Kconfig:4"]
    assert r["loops"] == [] and r["conf"]["recursive_dependency"] == []
    verdict = r["satisfiability"]["GPIO_VIRTIO"]
    assert verdict["reachable"] == {"m": True, "y": False}
    assert verdict["blockers"]["y"] == ["VIRTIO=m"]
    assert r["conf"]["reachable"]["GPIO_VIRTIO"] == verdict["reachable"]
    random = r["random"]["GPIO_VIRTIO"]
    assert random["configs"] == 200 and random["enabled"] > 0
    assert "VIRTIO" in random["at_least"]
    assert random["must_be_y"] == ["GPIOLIB_IRQCHIP"]


@pytest.mark.parametrize("arch", ["x86", "i386", "arm64"])
def test_seed_entry_flagged_on_real_tree(capsys, linux_source, arch):
    # Since 2020 DRM_VIRTIO_GPU selects VIRTIO, so 6.1 has no loop; the
    # select-of-a-bus rule still catches the entry on every tree.
    code, report = lint(capsys, "--tree", linux_source, "--snippet", SEED,
                        "--arch", arch, "--conf-check")
    (r,) = report["reports"]
    assert code == 1
    assert rules_of(report) == ["select-bus"]
    assert r["loops"] == [] and r["conf"]["recursive_dependency"] == []
