"""pytest fixtures that test a guest program against a simulated GPIO
bench: the backend serving it, a QEMU guest attached to it, and the host
side driving and watching its lines.

The package registers this module with pytest (the ``pytest11`` entry
point ``vgpio``), so a project's tests only ask for the fixtures; its
``pytest.ini`` names the bench file::

    [pytest]
    vgpio_bench = bench.toml

    # test_mirror.py
    def test_led_follows_button(vgpio_bench, vgpio_guest):
        with vgpio_guest.spawn("... the program under test ..."):
            vgpio_bench.set_input("button", 1)
            vgpio_bench.wait_for("led", 1, timeout=10)

The fixtures, all of session scope (one backend and one boot per run):

``vgpio_bench_file``
    the bench file (:mod:`virtio_gpio.testbench`): the ini option
    ``vgpio_bench``, relative to the rootdir. A ``conftest.py`` may
    override it (with a session-scoped fixture of its own).
``vgpio_bench``
    ``vgpio-vhost-user --config FILE --control CTL`` running, as a
    :class:`ServedBench` on its control socket. The file is served from a
    copy in a temporary directory, so its relative socket paths land
    there and runs side by side do not meet. Stopped at the end.
``vgpio_guest``
    a QEMU guest (:class:`~virtio_gpio.guests.bench_vm.Guest`) with
    vgpio.ko and libgpiod's tools, attached to every device of the bench:
    ``run(cmd, timeout)``, ``spawn(cmd)``. Powered off at the end.

Options: ``--vgpio-kernel 6.1|6.12|PATH`` (the guest's kernel; default:
the newest installed series) and ``--vgpio-module-src DIR`` (vgpio.ko's
sources; default: the ``kernel/`` of the checkout around the rootdir, the
current directory or the virtualenv). A configuration that cannot work
(no bench file, one that does not load, a kernel that cannot boot) is a
usage error naming it, and ends the run. When a test using the fixtures
fails, its report carries the backend's log and the guest's.

Loaded by every pytest run of the environment the package is installed
in, so importing it costs next to nothing: pytest and the standard
library (and :mod:`virtio_gpio.host`, which needs no more). The bench
file's reader and the guest runner are imported by the fixtures that use
them; nothing here needs the compiled core. ``-p no:vgpio`` leaves it
out.
"""

import os
import shutil
import subprocess
import sys
import time

import pytest

from .host import Bench, ControlSocketError

#: seconds the backend may take to serve
START_TIMEOUT = 30.0
#: seconds it may take to stop once told to
STOP_TIMEOUT = 10.0
#: lines of each log a failed test's report carries
LOG_LINES = 60

_BACKEND = pytest.StashKey()
_GUEST = pytest.StashKey()


class BadConfiguration(Exception):
    """A bench file, kernel or source that cannot be used: reported as a
    pytest usage error, which ends the run (every test using the fixtures
    would fail alike)."""


class ServedBench(Bench):
    """The :class:`~virtio_gpio.host.Bench` of the running backend, and
    where it serves from."""

    def __init__(self, control_path, config, sockets, log_path):
        super().__init__(control_path)
        #: the bench file as given (not the served copy)
        self.config = config
        #: device name -> its vhost-user socket, in the file's order
        self.sockets = sockets
        #: the backend's output (``-v``: connections and faults too)
        self.log_path = log_path


def pytest_addoption(parser):
    parser.addini("vgpio_bench", "the bench file (TOML) the vgpio_bench "
                  "fixture serves, relative to the rootdir", default="")
    group = parser.getgroup("vgpio", "virtio-gpio bench and guest")
    # pytest looks for its ini file before it knows these options: a
    # path after a space would count as a test path there, hence "=".
    group.addoption("--vgpio-kernel", metavar="6.1|6.12|PATH",
                    help="the Debian kernel series the vgpio_guest fixture "
                         "boots, or a kernel image (--vgpio-kernel=PATH); "
                         "default: the newest installed series")
    group.addoption("--vgpio-module-src", metavar="DIR",
                    help="vgpio.ko's sources, the checkout's kernel/ "
                         "(--vgpio-module-src=DIR); default: found from the "
                         "rootdir, the current directory or the virtualenv")


@pytest.fixture(scope="session")
def vgpio_bench_file(pytestconfig):
    """The bench file vgpio_bench serves: ini option ``vgpio_bench``,
    relative to the rootdir."""
    name = pytestconfig.getini("vgpio_bench")
    if name:
        return pytestconfig.rootpath / name
    if pytestconfig.inipath is None:
        raise BadConfiguration(
            "vgpio_bench: no bench file, and no ini file found from the "
            "rootdir %s: put 'vgpio_bench = FILE' in a pytest.ini there, "
            "or override the vgpio_bench_file fixture in a conftest.py"
            % pytestconfig.rootpath)
    raise BadConfiguration(
        "vgpio_bench: no bench file; name one with 'vgpio_bench = FILE' in "
        "%s, or override the vgpio_bench_file fixture in a conftest.py"
        % pytestconfig.inipath)


def _checked(path):
    """The absolute path of a bench file that loads; BadConfiguration
    naming it otherwise."""
    from .testbench.load import BenchFileError, load

    path = os.path.abspath(os.fspath(path))
    if not os.path.isfile(path):
        raise BadConfiguration("vgpio_bench: bench file %s does not exist"
                               % path)
    try:
        load(path)
    except BenchFileError as exc:
        # The message starts with the file and the line.
        raise BadConfiguration("vgpio_bench: bench file does not load: %s"
                               % exc) from None
    return path


def _tail(path, lines=LOG_LINES):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


class _Backend:
    """vgpio-vhost-user serving a copy of ``config`` in ``work``."""

    def __init__(self, config, work):
        self.work = str(work)
        self.config = config
        served = os.path.join(self.work, os.path.basename(config))
        shutil.copyfile(config, served)
        self.control = os.path.join(self.work, "control.ctl")
        self.log_path = os.path.join(self.work, "backend.log")
        self.sockets = {}
        # The interpreter running pytest: the backend of the same
        # installation, whether or not its bin/ is on PATH.
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "virtio_gpio.vhost_user", "--config",
                 served, "--control", self.control, "-v"],
                stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT)

    def serve(self):
        """A ServedBench once the backend answers on its control socket,
        which it opens once every device's socket listens."""
        bench = Bench(self.control, timeout=1.0)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            status = self.proc.poll()
            if status == 2:
                # It refused the bench (a socket it cannot create, say):
                # its one line says why.
                self.stop()
                raise BadConfiguration(
                    "vgpio_bench: vgpio-vhost-user refused %s: %s"
                    % (self.config, _tail(self.log_path, 1).strip()))
            if status is not None:
                self.failed("exited with status %d" % status)
            try:
                devices = bench.devices()
                break
            except ControlSocketError:
                if time.monotonic() > deadline:
                    self.failed("did not serve within %.0f s" % START_TIMEOUT)
                time.sleep(0.05)
        self.sockets = {device["name"]: device["socket"]
                        for device in devices}
        return ServedBench(self.control, self.config, dict(self.sockets),
                           self.log_path)

    def failed(self, how):
        self.stop()
        pytest.fail("vgpio_bench: vgpio-vhost-user --config %s %s; its "
                    "output:\n%s" % (self.config, how, _tail(self.log_path)),
                    pytrace=False)

    def stop(self):
        """The backend gone, its sockets too."""
        if self.proc.poll() is None:
            try:
                Bench(self.control, timeout=STOP_TIMEOUT).stop()
                self.proc.wait(STOP_TIMEOUT)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        # A backend that had to be killed left its socket files.
        for path in list(self.sockets.values()) + [self.control]:
            if os.path.dirname(path) == self.work and os.path.exists(path):
                os.unlink(path)


@pytest.fixture(scope="session")
def vgpio_bench(vgpio_bench_file, tmp_path_factory, pytestconfig):
    """The backend serving the bench file, for the whole session: a
    :class:`ServedBench` (set_input, wait_for, events, state, devices,
    inject) whose ``sockets`` are the devices' vhost-user sockets."""
    backend = _Backend(_checked(vgpio_bench_file),
                       tmp_path_factory.mktemp("vgpio-bench"))
    try:
        pytestconfig.stash[_BACKEND] = backend
        yield backend.serve()
    finally:
        backend.stop()


@pytest.fixture(scope="session")
def vgpio_guest(vgpio_bench, pytestconfig, tmp_path_factory):
    """A QEMU guest attached to every device of vgpio_bench, booted once
    for the session: a :class:`~virtio_gpio.guests.bench_vm.Guest`
    (``run(cmd, timeout=...)`` -> exit status and output, ``spawn(cmd)``
    -> a program in the background to ``stop()``)."""
    from . import progress
    from .guests import bench_vm, drivers, module_cache

    src = pytestconfig.getoption("vgpio_module_src") or \
        module_cache.find_sources([str(pytestconfig.rootpath), os.getcwd(),
                                   sys.prefix])
    qemu_log = tmp_path_factory.mktemp("vgpio-guest") / "qemu.log"
    with open(qemu_log, "w") as stderr:
        try:
            guest = bench_vm.Guest(
                list(vgpio_bench.sockets.values()),
                kernel=pytestconfig.getoption("vgpio_kernel"),
                module_src=src, stderr=stderr)
        except bench_vm.BadSetup as exc:
            raise BadConfiguration("vgpio_guest: %s (--vgpio-kernel, "
                                   "--vgpio-module-src)" % exc) from None
        pytestconfig.stash[_GUEST] = (guest, qemu_log)
        try:
            guest.start()
        except (bench_vm.GuestFailed, drivers.BuildError,
                progress.BuildFailed, FileNotFoundError) as exc:
            pytest.fail("vgpio_guest: the guest did not come up: %s\n%s"
                        % (exc, "\n".join(guest.log)), pytrace=False)
        try:
            yield guest
        finally:
            guest.close()


def _uses(item, fixture):
    return fixture in getattr(item, "fixturenames", ())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.excinfo is not None and \
            call.excinfo.errisinstance(BadConfiguration):
        raise pytest.UsageError(str(call.excinfo.value))
    if report.failed:
        backend = item.config.stash.get(_BACKEND, None)
        if backend is not None and _uses(item, "vgpio_bench"):
            report.sections.append(("vgpio backend log (%s)"
                                    % backend.log_path,
                                    _tail(backend.log_path)))
        guest = item.config.stash.get(_GUEST, None)
        if guest is not None and _uses(item, "vgpio_guest"):
            guest, qemu_log = guest
            text = "\n".join(guest.log[-LOG_LINES:])
            complaints = _tail(qemu_log)
            if complaints:
                text += "\nQEMU's stderr:\n" + complaints
            report.sections.append(("vgpio guest log", text))
    return report
