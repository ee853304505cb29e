"""Kconfig lint for the GPIO_VIRTIO entry, built on kconfiglib.

``tree`` stages a Kconfig tree (snippet inserted, compatibility step
applied), ``loops`` finds recursive dependencies the way the kernel's
kconfig reports them, ``rules`` holds the named checks, ``satisfy`` says
whether a symbol can be m or y under a given .config, ``conf`` asks the
kernel's own ``conf`` tool for a second opinion, and ``cli`` ties them
together (``python -m virtio_gpio.kconfig``).
"""
