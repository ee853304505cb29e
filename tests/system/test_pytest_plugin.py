"""The pytest plugin where no guest boots: what importing it costs, and a
configuration that cannot work ending the run as a usage error that names
what is wrong. Each case is a small project the test writes, run by
pytest in a subprocess with the plugin the installed package registers.
"""

import os
import subprocess
import sys
import textwrap

#: a bench that loads and serves
BENCH = """\
[[device]]
name = "panel"
socket = "panel.sock"
lines = ["button", "led"]
"""

USES_BENCH = """\
def test_bench(vgpio_bench):
    assert vgpio_bench.devices()
"""


def project(tmp_path, ini="", files=None):
    (tmp_path / "pytest.ini").write_text("[pytest]\n" + ini)
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    return tmp_path


def run_pytest(folder, *args):
    basetemp = folder / "basetemp"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
         "--basetemp", str(basetemp)] + list(args),
        cwd=folder, capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    return proc, proc.stdout + proc.stderr, basetemp


def usage_error(proc, output):
    """The "ERROR: ..." line of a run that ended in a usage error."""
    assert proc.returncode == 4, output
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines()
              if line.startswith("ERROR: ")]
    assert len(errors) == 1, output
    return errors[0]


def test_importing_it_loads_no_reader_runner_or_core():
    code = ("import sys, virtio_gpio.pytest_plugin\n"
            "print(sorted(m for m in sys.modules if m.startswith("
            "'virtio_gpio')))")
    out = subprocess.run([sys.executable, "-c", code], check=True,
                         capture_output=True, text=True).stdout
    assert eval(out) == ["virtio_gpio", "virtio_gpio.host",
                         "virtio_gpio.pytest_plugin"]


def test_a_run_without_its_fixtures_needs_no_bench(tmp_path):
    folder = project(tmp_path, files={"test_plain.py": """\
        def test_plain():
            pass
        """})
    proc, output, _ = run_pytest(folder)
    assert proc.returncode == 0, output
    assert "1 passed" in output


def test_no_bench_file_named(tmp_path):
    folder = project(tmp_path, files={"test_it.py": USES_BENCH})
    proc, output, _ = run_pytest(folder)
    assert usage_error(proc, output) == (
        "ERROR: vgpio_bench: no bench file; name one with 'vgpio_bench = "
        "FILE' in %s, or override the vgpio_bench_file fixture in a "
        "conftest.py" % (folder / "pytest.ini"))


def test_a_bench_file_that_is_not_there(tmp_path):
    folder = project(tmp_path, ini="vgpio_bench = benches/missing.toml\n",
                     files={"test_it.py": USES_BENCH})
    proc, output, _ = run_pytest(folder)
    assert usage_error(proc, output) == (
        "ERROR: vgpio_bench: bench file %s does not exist"
        % (folder / "benches" / "missing.toml"))


def test_a_bench_file_that_does_not_load(tmp_path):
    folder = project(tmp_path, ini="vgpio_bench = bench.toml\n", files={
        "test_it.py": USES_BENCH,
        "bench.toml": BENCH.replace('lines = ["button", "led"]',
                                    'lines = ["button", "button"]')})
    proc, output, _ = run_pytest(folder)
    line = usage_error(proc, output)
    # the reader's message: the file and the line of the fault
    assert line.startswith("ERROR: vgpio_bench: bench file does not load: "
                           "%s:4: " % (folder / "bench.toml")), line
    assert "button" in line


def test_a_conftest_names_the_bench_file(tmp_path):
    folder = project(tmp_path, files={"test_it.py": USES_BENCH,
                                      "conftest.py": """\
        import pytest

        @pytest.fixture(scope="session")
        def vgpio_bench_file(tmp_path_factory):
            return "/nonexistent/bench.toml"
        """})
    proc, output, _ = run_pytest(folder)
    assert usage_error(proc, output) == (
        "ERROR: vgpio_bench: bench file /nonexistent/bench.toml does not "
        "exist")


def test_a_bench_the_backend_refuses(tmp_path):
    # It loads, but its socket's directory does not exist.
    folder = project(tmp_path, ini="vgpio_bench = bench.toml\n", files={
        "test_it.py": USES_BENCH,
        "bench.toml": BENCH.replace('"panel.sock"',
                                    '"/nonexistent/panel.sock"')})
    proc, output, _ = run_pytest(folder)
    line = usage_error(proc, output)
    assert line.startswith("ERROR: vgpio_bench: vgpio-vhost-user refused "
                           "%s: " % (folder / "bench.toml")), line
    assert "/nonexistent" in line


def test_the_bench_serves_and_stops(tmp_path):
    folder = project(tmp_path, ini="vgpio_bench = bench.toml\n", files={
        "bench.toml": BENCH, "test_it.py": """\
        import os

        def test_served(vgpio_bench):
            assert [d["name"] for d in vgpio_bench.devices()] == ["panel"]
            # the socket is the served copy's, in the session's tmp
            socket = vgpio_bench.sockets["panel"]
            assert os.path.basename(socket) == "panel.sock"
            assert os.path.dirname(socket) != os.getcwd()
            vgpio_bench.set_input("button", 1)
            assert vgpio_bench.state()["lines"][0]["value"] == 1
        """})
    proc, output, basetemp = run_pytest(folder)
    assert proc.returncode == 0, output
    assert not (folder / "panel.sock").exists()
    # stopped: its sockets gone with it
    left = [name for _, _, names in os.walk(basetemp) for name in names
            if name.endswith((".sock", ".ctl"))]
    assert left == []


def test_a_kernel_that_cannot_boot(tmp_path):
    folder = project(tmp_path, ini="vgpio_bench = bench.toml\n", files={
        "bench.toml": BENCH, "test_it.py": """\
        def test_guest(vgpio_guest):
            pass
        """})
    proc, output, basetemp = run_pytest(folder, "--vgpio-kernel=9.9")
    line = usage_error(proc, output)
    assert line.startswith("ERROR: vgpio_guest: unknown kernel '9.9'"), line
    assert line.endswith("(--vgpio-kernel, --vgpio-module-src)"), line
    # the backend, started first, was stopped
    left = [name for _, _, names in os.walk(basetemp) for name in names
            if name.endswith((".sock", ".ctl"))]
    assert left == []
