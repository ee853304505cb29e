"""The pytest plugin end to end: the example projects under examples/
run by pytest as a user runs them, in their own directory, with the
plugin the installed package registers (nothing on the command line asks
for it). Each run starts one backend and boots one QEMU guest.

examples/pytest-button-led: the mirror program follows the button.
examples/pytest-idle-guard: the guard passes for the idle program and,
run with its check file, fails for the program that drives the LED while
idle, saying so.

Each run also leaves nothing behind: no file in the example's directory,
no backend running, no socket in its temporary directory.
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from checkout import ROOT

EXAMPLES = os.path.join(ROOT, "examples")
#: seconds one example run may take: the boot (seconds once vgpio.ko is
#: in the build cache, a minute or two when it is built first) and tests
RUN_TIMEOUT = 600


def files_under(folder):
    return sorted(os.path.relpath(os.path.join(top, name), folder)
                  for top, dirs, names in os.walk(folder)
                  for name in dirs + names)


def processes_naming(text):
    """The command lines of this machine's processes that contain
    ``text`` (a path unique to one run)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(
                    errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(cmdline)
    return found


def run_example(name, tmp_path, *args):
    """pytest run in examples/NAME: the outcome of each test by name,
    and the run's status and output."""
    project = os.path.join(EXAMPLES, name)
    before = files_under(project)
    basetemp = tmp_path / "basetemp"
    junit = tmp_path / "report.xml"
    # No cache and no byte code: the run writes nothing into the example.
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
         "--basetemp", str(basetemp), "--junitxml", str(junit)] + list(args),
        cwd=project, env=env, capture_output=True, text=True,
        timeout=RUN_TIMEOUT)
    output = proc.stdout + proc.stderr
    outcomes = {}
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        failure = case.find("failure")
        error = case.find("error")
        if failure is not None:
            outcomes[case.get("name")] = ("failed", failure.get("message"))
        elif error is not None:
            outcomes[case.get("name")] = ("error", error.get("message"))
        else:
            outcomes[case.get("name")] = ("passed", None)
    return {"status": proc.returncode, "output": output,
            "outcomes": outcomes, "before": before,
            "after": files_under(project), "basetemp": str(basetemp)}


@pytest.fixture(scope="module")
def button_led(tmp_path_factory):
    return run_example("pytest-button-led",
                       tmp_path_factory.mktemp("button-led"))


@pytest.fixture(scope="module")
def idle_guard(tmp_path_factory):
    return run_example("pytest-idle-guard",
                       tmp_path_factory.mktemp("idle-guard"),
                       "test_idle.py", "check_refresh_is_caught.py")


def test_the_mirror_example_passes(button_led):
    assert button_led["status"] == 0, button_led["output"]
    assert button_led["outcomes"] == {
        "test_the_led_follows_the_button": ("passed", None),
        "test_a_press_held_at_the_start_shows": ("passed", None)}, \
        button_led["output"]


def test_the_plugin_came_from_the_entry_point(button_led):
    # the header lists plugins that setuptools entry points loaded
    assert "virtio-gpio" in next(
        line for line in button_led["output"].splitlines()
        if line.startswith("plugins:")), button_led["output"]


def test_the_idle_program_passes_the_guard(idle_guard):
    assert idle_guard["outcomes"]["test_idle_program_leaves_the_led_alone"] \
        == ("passed", None), idle_guard["output"]


def test_the_guard_fails_for_a_drive_while_idle(idle_guard):
    assert idle_guard["status"] == 1, idle_guard["output"]
    outcome, message = idle_guard["outcomes"][
        "test_refreshing_the_led_is_caught"]
    assert outcome == "failed", idle_guard["output"]
    # the one drive: idle-refresh.sh switched the LED off, which it was
    assert message.startswith("AssertionError: the guest drove led while "
                              "it should be idle: led=0 at +"), message
    assert "led=1" not in message
    # the report of the failed test carries the backend's and guest's logs
    assert "vgpio backend log" in idle_guard["output"]
    assert "vgpio guest log" in idle_guard["output"]


@pytest.mark.parametrize("run", ["button_led", "idle_guard"])
def test_a_run_leaves_nothing_behind(run, request):
    result = request.getfixturevalue(run)
    assert result["after"] == result["before"]
    assert processes_naming(result["basetemp"]) == []
    served = [os.path.join(top, name)
              for top, _, names in os.walk(result["basetemp"])
              for name in names if name.endswith((".sock", ".ctl"))]
    assert served == []
