"""Guest runners: the supported kernel series, their source packages and
build trees (``kernels``, ``linux_source``, ``debian_archive``,
``drivers``), UML and QEMU guests driven through their console (``uml``,
``qemu``, ``console``), QEMU's user-creatable patch
(``qemu_user_creatable``), the in-guest benchmark (``bench_guest``), and
``vgpio-guest`` (``guest_cli``) with its parts: the Debian kernels it
boots (``debian_images``), vgpio.ko kept built (``module_cache``), its
initramfs (``guest_initramfs``), a console handed to the terminal
(``passthrough``), QMP (``qmp``) and the hot-plug of backends
(``hotplug``).

They run subprocesses and read files; none of them needs the compiled
core (tests/unit/test_imports.py checks that).
"""
