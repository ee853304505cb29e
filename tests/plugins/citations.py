"""What the documents that cite tests check against: the node IDs this
session collected, recorded for collection.py before -m and -k deselect
any."""

import pytest

import collection


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    # Only when whole files were asked for: a "file::test" argument
    # collects part of one, which collection.py must not take for all.
    if any("::" in arg for arg in config.args):
        return
    for item in items:
        collection.SESSION_NODES.setdefault(
            item.nodeid.split("::")[0], set()).add(item.nodeid)
