"""Guest runners: the supported kernel series, their source packages and
build trees (``kernels``, ``linux_source``, ``debian_archive``,
``drivers``), UML and QEMU guests driven through their console (``uml``,
``qemu``, ``console``), QEMU's user-creatable patch
(``qemu_user_creatable``) and the in-guest benchmark (``bench_guest``).

They run subprocesses and read files; none of them needs the compiled
core (tests/unit/test_imports.py checks that).
"""
