"""The ``trace`` extra: the libraries that waveforms need, and the one
line that says how to get them.

pyvcd writes and reads the VCD files, matplotlib draws them; neither is
part of the core install. A tool that needs them calls :func:`require`
after its arguments are parsed, so that its ``--help`` works without
them.
"""

import importlib.util

#: import name -> the distribution that provides it
DISTRIBUTIONS = {"vcd": "pyvcd", "matplotlib": "matplotlib"}

INSTALL = "pip install 'virtio-gpio[trace]'"


def missing(modules=tuple(DISTRIBUTIONS)):
    """The distributions of ``modules`` (top-level import names) that are
    not installed, in the order given.

    Found, not imported: importing matplotlib may build its font cache
    and say so on stderr, which a tool that then fails on its input
    should not add to its one line.
    """
    return [DISTRIBUTIONS.get(module, module) for module in modules
            if importlib.util.find_spec(module) is None]


def require(prog, modules=tuple(DISTRIBUTIONS)):
    """Exit with one line (status 1) when any of ``modules`` (import
    names: ``"vcd"`` to record, both to draw) is not installed."""
    absent = missing(modules)
    if absent:
        raise SystemExit("%s: needs %s, not installed: %s"
                         % (prog, " and ".join(absent), INSTALL))
