"""Kconfig lint for the GPIO_VIRTIO entry, built on kconfiglib.

``tree`` stages a Kconfig tree (snippet inserted, the steps of
``kconfiglib_compat`` that let kconfiglib 14.1 read newer kernels' syntax
applied, with ``expressions`` to rewrite a dependency), ``loops``
finds recursive dependencies the way the kernel's kconfig reports them,
``rules`` holds the named checks, ``satisfy`` says whether a symbol can be
m or y under a given .config, ``conf`` asks the kernel's own ``conf`` tool,
built from the linted tree, for a second opinion, and ``cli`` ties them
together (``python -m virtio_gpio.kconfig``).
"""
