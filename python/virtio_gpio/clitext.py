"""What the command-line tools say: help text, and what to install.

A module docstring is reStructuredText (````literal````, ``:class:`Name```);
``--help`` should read as plain text. A tool that needs the compiled core
says in one line how to get it, rather than ending in a traceback. Only
standard library: every tool imports this, the lint and the guest runners
included.
"""

import importlib
import re

_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`~?([^`]+)`")

CORE_MISSING = ("%s: the compiled core (virtio_gpio._core) is not installed; "
                "reinstall with a C compiler and cffi: "
                "pip install --force-reinstall virtio-gpio")


def plain(doc):
    """``doc`` without reST markup: roles keep their target's name,
    literals lose their backquotes."""
    return _ROLE.sub(r"\1", doc).replace("``", "")


def require_core(prog):
    """Exit with one line (status 1) when the compiled core cannot be
    loaded: not installed, or built for another binding.

    Call it after the arguments are parsed, so that ``--help`` works
    without the core.
    """
    try:
        importlib.import_module("virtio_gpio._binding")
    except ImportError as exc:
        if exc.name == "virtio_gpio._core":
            raise SystemExit(CORE_MISSING % prog) from None
        raise SystemExit("%s: %s" % (prog, exc)) from None
