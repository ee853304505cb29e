"""Help text for the command-line tools, from the docstrings Sphinx renders.

A module docstring is reStructuredText (````literal````, ``:class:`Name```);
``--help`` should read as plain text. Only standard library: every tool
imports this, the lint and the guest runners included.
"""

import re

_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`~?([^`]+)`")


def plain(doc):
    """``doc`` without reST markup: roles keep their target's name,
    literals lose their backquotes."""
    return _ROLE.sub(r"\1", doc).replace("``", "")
