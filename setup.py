"""Packaging of the virtio_gpio Python package and its cffi core.

The extension module virtio_gpio._core is built by cffi from
python/_cffi_src/build_core.py, which compiles kernel/vgpio_core.c - the
same file the kernel module links - against the userspace OS shim.
"""

from setuptools import find_packages, setup

setup(
    name="virtio-gpio",
    version="0.1.0",
    description="virtio-gpio guest driver core, device model and tools",
    license="GPL-2.0-or-later",
    python_requires=">=3.9",
    package_dir={"": "python"},
    packages=find_packages(where="python", exclude=["_cffi_src"]),
    setup_requires=["cffi>=1.15"],
    install_requires=["cffi>=1.15"],
    cffi_modules=["python/_cffi_src/build_core.py:ffibuilder"],
    entry_points={
        "console_scripts": [
            "virtio-gpio-demo = virtio_gpio.demo:main",
            "vgpio-kconfig-lint = virtio_gpio.kconfig.cli:main",
            "vgpio-vhost-user = virtio_gpio.backend_cli:main",
        ],
    },
    zip_safe=False,
)
