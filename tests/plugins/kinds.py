"""A test's kind is the folder it is in: tests/unit/, tests/property/,
tests/e2e/ and tests/system/ give the markers of the same names (declared
in pytest.ini), which the make targets select with -m. A test file
anywhere else would belong to no target, so it stops the run."""

import os

import pytest

KINDS = ("unit", "property", "e2e", "system")
TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# Before -m deselects anything (mark's own hook), and -m must see kinds.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    outside = set()
    for item in items:
        where = os.path.relpath(str(item.path), TESTS).split(os.sep)
        if len(where) > 1 and where[0] in KINDS:
            item.add_marker(where[0])
        else:
            outside.add(os.path.relpath(str(item.path)))
    if outside:
        raise pytest.UsageError(
            "tests outside tests/{%s}/: %s" % (",".join(KINDS),
                                              ", ".join(sorted(outside))))
