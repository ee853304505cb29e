"""The console scripts: one prefix, --help everywhere as plain text, and
vgpio-ctl driving a running backend through its control socket."""

import importlib.metadata
import json
import subprocess
import sys

import pytest

from e2e_helpers import Backend
from virtio_gpio.vhost_user import control_cli
from virtio_gpio.clitext import plain


def console_scripts():
    return sorted(ep for ep in importlib.metadata.entry_points(
        group="console_scripts") if ep.dist.name == "virtio-gpio")


def test_every_console_script_has_the_one_prefix():
    names = [ep.name for ep in console_scripts()]
    assert names and all(name.startswith("vgpio-") for name in names), names
    assert {"vgpio-demo", "vgpio-ctl", "vgpio-vhost-user",
            "vgpio-kconfig-lint"} <= set(names)


@pytest.mark.parametrize("script", [ep.name for ep in console_scripts()])
def test_help_exits_0_in_plain_text(script):
    (ep,) = [ep for ep in console_scripts() if ep.name == script]
    module, func = ep.value.split(":")
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from %s import %s as main; "
         "sys.exit(main(['--help']))" % (module, func)],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: %s " % script), proc.stdout
    assert "``" not in proc.stdout and ":class:" not in proc.stdout


def test_plain_drops_roles_and_literal_quotes():
    assert plain("use ``-s`` or :class:`~virtio_gpio.Chip` and "
                 ":py:func:`send`") == "use -s or virtio_gpio.Chip and send"


@pytest.fixture
def backend(tmp_path):
    started = Backend(str(tmp_path), "ctl", "--names", "a,b,c")
    yield started
    started.stop()


def ctl(backend, *args, capsys):
    code = control_cli.main(["--control", backend.control] + list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_ctl_drives_the_backend(backend, capsys):
    assert ctl(backend, "set-input", "1", "1", capsys=capsys)[0] == 0
    code, out, _ = ctl(backend, "state", "--json", capsys=capsys)
    assert code == 0
    assert json.loads(out)["lines"][1]["value"] == 1
    code, out, _ = ctl(backend, "state", capsys=capsys)
    assert code == 0 and 'line 1 "b"' in out and "value=1" in out
    assert ctl(backend, "inject", "drop", "2", capsys=capsys)[0] == 0


def test_ctl_reports_a_refused_command(backend, capsys):
    code, _, err = ctl(backend, "inject", "no_such_fault", capsys=capsys)
    assert code == 2 and "no_such_fault" in err


def test_ctl_says_when_nothing_listens(tmp_path, capsys):
    code = control_cli.main(["--control", str(tmp_path / "none.ctl"),
                             "state"])
    assert code == 2
    assert "none.ctl" in capsys.readouterr().err

