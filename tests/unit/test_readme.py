"""The README's kernel table: every cell names tests, and those tests exist.

The table claims, per kernel, that the module builds, loads with a device,
runs both protocols end to end, delivers interrupts and serves several
devices. A claim is only
worth what backs it: each cell carries labels ("B-6.1"), the list below the
table maps labels to pytest node IDs, and pytest itself says whether those
exist.
"""

import os
import re

import pytest

from collection import ROOT, collect

README = os.path.join(ROOT, "README.md")
COLUMNS = ["builds", "loads with a device", "2020 protocol",
           "standard protocol", "interrupts", "several devices"]
SERIES = ["6.1", "6.12", "newest"]


def section(text):
    start = text.index("## Supported kernels")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def table(text):
    """{series: [cell text per column]} of the kernel table."""
    rows = {}
    for line in section(text).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| ") or cells[0] == "kernel" or \
                set(cells[0]) <= set("- "):
            continue
        series = cells[0].split()[0]
        rows[series] = cells[1:]
    return rows


def backing(text):
    """{label: [node IDs]} from the list between the table markers."""
    body = section(text)
    body = body[body.index("<!-- kernel-table-tests -->"):
                body.index("<!-- /kernel-table-tests -->")]
    tests = {}
    for line in body.splitlines():
        if not line.startswith("- "):
            continue
        labels, _, ids = line[2:].partition(":")
        nodes = re.findall(r"`([^`]+)`", ids)
        for label in (x.strip() for x in labels.split(",")):
            series = label.split("-", 1)[1]
            tests.setdefault(label, []).extend(
                n.replace("SERIES", series) for n in nodes)
    return tests


def problems(text, collected):
    found = []
    rows = table(text)
    tests = backing(text)
    if sorted(rows) != sorted(SERIES):
        found.append("table rows %s, expected %s" % (sorted(rows), SERIES))
    for series, cells in rows.items():
        if len(cells) != len(COLUMNS):
            found.append("%s: %d cells" % (series, len(cells)))
            continue
        for column, (letter, cell) in zip(COLUMNS, zip("BLPSID", cells)):
            label = "%s-%s" % (letter, series)
            named = re.search(r"\b%s\b" % re.escape(label), cell)
            if not cell.startswith("yes") or not named:
                found.append("%s / %s: %r is not 'yes: %s'"
                             % (series, column, cell, label))
            elif not tests.get(label):
                found.append("%s / %s: no test listed for %s"
                             % (series, column, label))
    for label, nodes in tests.items():
        for node in nodes:
            if node not in collected and not any(
                    c.startswith(node + "[") for c in collected):
                found.append("%s: %s does not exist" % (label, node))
    return found


@pytest.fixture(scope="module")
def text():
    with open(README) as f:
        return f.read()


@pytest.fixture(scope="module")
def collected(text):
    files = {node.split("::")[0] for nodes in backing(text).values()
             for node in nodes}
    return collect(files)


def test_every_cell_is_backed_by_existing_tests(text, collected):
    assert problems(text, collected) == []


def test_a_cell_without_tests_is_reported(text, collected):
    broken = re.sub(r"^- I-6\.12: .*\n", "", text, flags=re.MULTILINE)
    broken = broken.replace("- I-6.1, I-6.12:", "- I-6.1:")
    assert problems(broken, collected) == [
        "6.12 / interrupts: no test listed for I-6.12"]


def test_a_cell_naming_a_missing_test_is_reported(text, collected):
    broken = text.replace("test_host_edges_arrive_as_host_level_messages",
                          "test_that_was_never_written")
    assert problems(broken, collected) == [
        "I-6.12: tests/e2e/test_e2e_qemu_id30.py::"
        "test_that_was_never_written[6.12] does not exist"]


def test_a_cell_that_is_not_green_is_reported(text, collected):
    broken = text.replace("| yes: S-6.12 |", "| no |")
    assert problems(broken, collected) == [
        "6.12 / standard protocol: 'no' is not 'yes: S-6.12'"]
