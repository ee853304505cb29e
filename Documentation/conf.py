# SPDX-License-Identifier: GPL-2.0-or-later
"""Sphinx configuration for the virtio-gpio documentation."""

import importlib.metadata
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "_ext"))

project = "virtio-gpio"
author = "the virtio-gpio developers"
copyright = "2026, " + author
# The installed package's, which setup.py read from kernel/vgpio_version.h
# (autodoc documents the installed package too).
release = version = importlib.metadata.version("virtio-gpio")

extensions = [
    "sphinx.ext.autodoc",
    "kerneldoc_header",
    "bench_schema",
]

# The C API reference is generated from this header's kernel-doc comments.
kerneldoc_root = os.path.dirname(HERE)

primary_domain = "py"
default_role = "literal"
nitpicky = True
# Kernel scalar types used by the core's C API; they are not ours to document.
nitpick_ignore = [
    ("c:identifier", name) for name in
    ("u8", "u16", "u32", "s32", "__le16", "__le32", "bool", "size_t")
]
autodoc_member_order = "bysource"
autodoc_typehints = "none"

html_theme = "alabaster"
html_title = "virtio-gpio"
exclude_patterns = ["_build"]
