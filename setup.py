"""Packaging of the virtio_gpio Python package and its cffi core.

pyproject.toml names the build requirements (PEP 517/518); this file is
the cffi hook: the extension module virtio_gpio._core is built by cffi
from python/_cffi_src/build_core.py, which compiles kernel/vgpio_core.c -
the same file the kernel module links - against the userspace OS shim.
MANIFEST.in puts every C source and header it needs into the sdist.
"""

import os
import re

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def version():
    """The project's version, from its one source: kernel/vgpio_version.h."""
    with open(os.path.join(HERE, "kernel", "vgpio_version.h")) as f:
        return re.search(r'^#define VGPIO_VERSION "([^"]+)"$', f.read(),
                         re.MULTILINE).group(1)


#: cffi for the compiled core, kconfiglib for vgpio-kconfig-lint, tomli
#: for bench files where the standard library has no tomllib yet
REQUIRES = ["cffi>=1.15", "kconfiglib>=14.1",
            "tomli>=2; python_version<'3.11'"]
#: extras: "docs" to build the documentation, "trace" to record and draw
#: waveforms (pyvcd writes and reads the VCD, matplotlib draws it), "dev"
#: for those and the test suite
DOCS = ["sphinx>=7"]
TRACE = ["pyvcd>=0.4", "matplotlib>=3.5"]
DEV = ["pytest>=7", "pytest-xdist>=3", "hypothesis>=6"] + DOCS + TRACE


class OptionalCoreBuildExt(build_ext):
    """Builds the compiled core if it can: the device side (wire formats,
    models, the vhost-user backend), the Kconfig lint and the guest runners
    are plain Python, so a machine without a C compiler or Python headers
    still gets a working backend. What needs the core says so when used.
    VGPIO_REQUIRE_CORE=1 (``make build`` sets it) makes a failed core build
    fail the install, so a development build never hides a compile error."""

    def finalize_options(self):
        super().finalize_options()
        required = os.environ.get("VGPIO_REQUIRE_CORE", "") not in ("", "0")
        for ext in self.extensions:
            if ext.name == "virtio_gpio._core":
                ext.optional = not required

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception:
            if getattr(ext, "optional", False):
                self.warn("virtio_gpio._core not built: the backend, the "
                          "lint and the guest runners work without it; "
                          "Chip needs it (install a C compiler and the "
                          "Python headers, then reinstall)")
            raise


setup(
    name="virtio-gpio",
    version=version(),
    description="virtio-gpio guest driver core, device model and tools",
    license="GPL-2.0-or-later",
    python_requires=">=3.9",
    package_dir={"": "python"},
    packages=find_packages(where="python", exclude=["_cffi_src"]),
    install_requires=REQUIRES,
    extras_require={"docs": DOCS, "trace": TRACE, "dev": DEV},
    cffi_modules=["python/_cffi_src/build_core.py:ffibuilder"],
    cmdclass={"build_ext": OptionalCoreBuildExt},
    entry_points={
        "console_scripts": [
            "vgpio-demo = virtio_gpio.demo:main",
            "vgpio-conform = virtio_gpio.conformance.cli:main",
            "vgpio-ctl = virtio_gpio.vhost_user.control_cli:main",
            "vgpio-guest = virtio_gpio.guests.guest_cli:main",
            "vgpio-kconfig-lint = virtio_gpio.kconfig.cli:main",
            "vgpio-trace = virtio_gpio.trace.cli:main",
            "vgpio-vhost-user = virtio_gpio.vhost_user.cli:main",
        ],
        "pytest11": ["vgpio = virtio_gpio.pytest_plugin"],
    },
    zip_safe=False,
)
