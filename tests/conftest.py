"""Shared fixtures. The kinds of tests, the rules of a run, the Hypothesis
profiles and the record of what documents may cite are plugins
(tests/plugins/).

The compiled core is imported inside the fixtures that use it, not here:
the tests of what needs no core (the Kconfig lint, the device side) run
without one.
"""

import os
import subprocess
import sys

import pytest

import virtio_gpio
from checkout import ROOT

pytest_plugins = ["kinds", "run_rules", "hypothesis_profiles", "citations"]


def _core_lib():
    from virtio_gpio._binding import lib
    return lib


@pytest.fixture
def no_leaks():
    """Fails the test if the core's allocations are not all freed."""
    lib = _core_lib()
    before = lib.vgpio_os_live_allocs
    yield
    lib.vgpio_os_fail_after = -1
    assert lib.vgpio_os_live_allocs == before


def _wait_context_errors():
    # A core not loaded yet has counted nothing; asking would load it.
    if "virtio_gpio._binding" not in sys.modules:
        return 0
    return _core_lib().vgpio_os_wait_context_errors


@pytest.fixture(autouse=True)
def lock_context():
    """Fails the test if the core took its lock or touched a queue where
    the kernel holds the irq descriptor's raw spinlock (vgpio_os.h)."""
    before = _wait_context_errors()
    yield
    assert _wait_context_errors() == before, (
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
    return subprocess.run([os.path.join(ROOT, "tools", "linux-source")],
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
    """(series, debug=None) -> (UML build directory, its source tree),
    built once per run.

    ``series`` is an argument of tools/linux-source ("6.1", "newest"; see
    e2e_helpers.UML_SERIES); its tools/uml-patches are applied. ``debug``
    picks the debug or the plain kernel; None, the one the series' end to
    end runs use (uml.e2e_debug).

    A function rather than a build per fixture instance, so each kernel is
    built only when a test asks for it, and only once.
    """
    import time

    from virtio_gpio.guests import uml
    built = {}

    def build(series, debug=None):
        asked = series, debug
        if asked not in built:
            source = subprocess.run(
                [os.path.join(ROOT, "tools", "linux-source"), series],
                check=True, capture_output=True, text=True).stdout.strip()
            if debug is None:
                debug = uml.e2e_debug(uml.tree_series(source))
            start = time.monotonic()
            out = uml.build_kernel(source, patches=os.path.join(
                ROOT, "tools", "uml-patches"), debug=debug)
            timings.append("UML %s %s kernel (%s %s) ready (built or "
                           "cached): %.1f s"
                           % (series, "debug" if debug else "plain",
                              uml.tree_series(source),
                              uml.source_version(source),
                              time.monotonic() - start))
            built[asked] = (out, source)
        return built[asked]

    return build
