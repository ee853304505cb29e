"""Shared fixtures; also turns any skipped test into a failed run."""

import ctypes
import os
import subprocess

import pytest
from hypothesis import HealthCheck, settings

import collection

import virtio_gpio
from virtio_gpio._binding import lib

# No deadlines or speed health checks: CI machines are shared and slow at
# times, and a timing failure here would say nothing about the core.
settings.register_profile("default", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("sanitizer", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
# make test-fast: the same properties, fewer examples (the full suite
# runs the default).
settings.register_profile("fast", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_report_header(config):
    return "virtio_gpio core: %s" % virtio_gpio._binding.__file__


def pytest_sessionstart(session):
    # The sanitizer run must really test the sanitized build.
    expected = os.environ.get("VGPIO_EXPECT_CORE_DIR")
    if expected:
        loaded = os.path.realpath(virtio_gpio.__file__)
        if not loaded.startswith(os.path.realpath(expected)):
            raise pytest.UsageError("expected the core from %s, loaded %s"
                                    % (expected, loaded))
        if not hasattr(ctypes.CDLL(None), "__asan_init"):
            raise pytest.UsageError("sanitizer run without ASan loaded")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    # What the documents that cite tests check against (collection.py):
    # everything collected, before -m and -k deselect; only when whole
    # files were asked for (a "file::test" argument collects part of one).
    if any("::" in arg for arg in config.args):
        return
    for item in items:
        collection.SESSION_NODES.setdefault(
            item.nodeid.split("::")[0], set()).add(item.nodeid)


_skipped = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    # A skipped test hides something missing; this suite never skips.
    if _skipped and session.exitstatus == 0:
        session.exitstatus = 1
        print("\nskipped tests are failures here: %s" % ", ".join(_skipped))


@pytest.fixture
def no_leaks():
    """Fails the test if the core's allocations are not all freed."""
    before = lib.vgpio_os_live_allocs
    yield
    lib.vgpio_os_fail_after = -1
    assert lib.vgpio_os_live_allocs == before


@pytest.fixture(autouse=True)
def lock_context():
    """Fails the test if the core took its lock or touched a queue where
    the kernel holds the irq descriptor's raw spinlock (vgpio_os.h)."""
    before = lib.vgpio_os_wait_context_errors
    yield
    assert lib.vgpio_os_wait_context_errors == before, (
        "lock or queue operation under a raw spinlock")


@pytest.fixture
def make_chip(no_leaks):
    """Factory for simulated chips, all closed (and leak-checked) after."""
    chips = []

    def make(*args, **kwargs):
        chip = virtio_gpio.simulated_chip(*args, **kwargs)
        chips.append(chip)
        return chip

    yield make
    for chip in chips:
        chip.close()


@pytest.fixture
def chip(make_chip):
    """A chip of 8 named lines."""
    return make_chip(["l%d" % i for i in range(8)], name="test-chip")


@pytest.fixture(scope="session")
def linux_source():
    """Debian's linux-source-6.1 tree, unpacked once under build/."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.run([os.path.join(root, "tools", "linux-source")],
                          check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture(scope="session")
def debian_headers():
    """(directory, release) of the newest installed Debian 6.1 headers."""
    import kbuild
    return kbuild.debian_headers()


@pytest.fixture(scope="session")
def module_build(debian_headers, tmp_path_factory, timings):
    """vgpio.ko built from a private copy of kernel/ with W=1 and C=1."""
    import time

    import kbuild
    src = kbuild.copy_sources(str(tmp_path_factory.mktemp("kbuild") / "kernel"))
    start = time.monotonic()
    build = kbuild.build(src, debian_headers[0], "W=1", "C=1")
    timings.append("vgpio.ko build against %s (W=1 C=1, from clean): %.1f s"
                   % (debian_headers[1], time.monotonic() - start))
    return build


_timings = []


@pytest.fixture(scope="session")
def timings():
    """Append "what: figure" lines; they are printed at the end of the run."""
    return _timings


def pytest_terminal_summary(terminalreporter):
    if _timings:
        terminalreporter.section("measured")
        for line in _timings:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def uml_build(timings):
    """series -> (UML build directory, its source tree), built once per run.

    ``series`` is an argument of tools/linux-source ("6.1", "newest"; see
    e2e_helpers.UML_SERIES); its tools/uml-patches are applied.

    A function rather than a build per fixture instance, so each series is
    built only when a test asks for it, and only once.
    """
    import time

    from virtio_gpio.guests import uml
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    built = {}

    def build(series):
        if series not in built:
            source = subprocess.run(
                [os.path.join(root, "tools", "linux-source"), series],
                check=True, capture_output=True, text=True).stdout.strip()
            start = time.monotonic()
            out = uml.build_kernel(source, patches=os.path.join(
                root, "tools", "uml-patches"),
                debug=uml.e2e_debug(uml.tree_series(source)))
            timings.append("UML %s kernel (%s %s) ready (built or cached): "
                           "%.1f s" % (series, uml.tree_series(source),
                                       uml.source_version(source),
                                       time.monotonic() - start))
            built[series] = (out, source)
        return built[series]

    return build
