"""Which tests exist, asked of pytest itself (for documents that cite tests)."""

import functools
import subprocess
import sys

from checkout import ROOT

#: node IDs of whole test files the running session collected, before -m
#: and -k deselect any (tests/plugins/citations.py fills it); files not in
#: it are asked of a separate collection
SESSION_NODES = {}


@functools.lru_cache(maxsize=None)
def _collect_suite():
    """Every node ID of the suite: one collection per test run, shared by
    the documents that cite tests (it takes seconds)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q",
         "-p", "no:cacheprovider", "tests"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return frozenset(line.strip() for line in proc.stdout.splitlines()
                     if "::" in line)


def collect(files):
    """Node IDs pytest collects from ``files`` (paths relative to the top)."""
    files = set(files)
    source = (SESSION_NODES if files <= SESSION_NODES.keys() else
              {None: _collect_suite()})
    return {node for nodes in source.values() for node in nodes
            if node.split("::")[0] in files}
