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

HERE = os.path.dirname(os.path.abspath(__file__))


def version():
    """The project's version, from its one source: kernel/vgpio_version.h."""
    with open(os.path.join(HERE, "kernel", "vgpio_version.h")) as f:
        return re.search(r'^#define VGPIO_VERSION "([^"]+)"$', f.read(),
                         re.MULTILINE).group(1)


#: extras: "kconfig" for vgpio-kconfig-lint, "docs" to build the
#: documentation, "dev" for those and the test suite
KCONFIG = ["kconfiglib>=14.1"]
DOCS = ["sphinx>=7"]
DEV = ["pytest>=7", "hypothesis>=6"] + KCONFIG + DOCS

setup(
    name="virtio-gpio",
    version=version(),
    description="virtio-gpio guest driver core, device model and tools",
    license="GPL-2.0-or-later",
    python_requires=">=3.9",
    package_dir={"": "python"},
    packages=find_packages(where="python", exclude=["_cffi_src"]),
    install_requires=["cffi>=1.15"],
    extras_require={"kconfig": KCONFIG, "docs": DOCS, "dev": DEV},
    cffi_modules=["python/_cffi_src/build_core.py:ffibuilder"],
    entry_points={
        "console_scripts": [
            "vgpio-demo = virtio_gpio.demo:main",
            "vgpio-ctl = virtio_gpio.vhost_user.control_cli:main",
            "vgpio-kconfig-lint = virtio_gpio.kconfig.cli:main",
            "vgpio-vhost-user = virtio_gpio.vhost_user.cli:main",
        ],
    },
    zip_safe=False,
)
