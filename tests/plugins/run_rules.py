"""Rules of a run: it tests the core it says it tests, and a skipped test
fails it."""

import ctypes
import importlib.util
import os

import pytest


def pytest_report_header(config):
    # Where the core would load from, without loading it: tests that do
    # not need it (the Kconfig lint's, the device side's) run without it.
    spec = importlib.util.find_spec("virtio_gpio._core")
    return "virtio_gpio core: %s" % (spec.origin if spec else "not built")


def pytest_sessionstart(session):
    # The sanitizer run must really test the sanitized build.
    expected = os.environ.get("VGPIO_EXPECT_CORE_DIR")
    if expected:
        import virtio_gpio
        loaded = os.path.realpath(virtio_gpio.__file__)
        if not loaded.startswith(os.path.realpath(expected)):
            raise pytest.UsageError("expected the core from %s, loaded %s"
                                    % (expected, loaded))
        if not hasattr(ctypes.CDLL(None), "__asan_init"):
            raise pytest.UsageError("sanitizer run without ASan loaded")


_skipped = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    # A skipped test hides something missing; this suite never skips.
    if _skipped and session.exitstatus == 0:
        session.exitstatus = 1
        print("\nskipped tests are failures here: %s" % ", ".join(_skipped))
