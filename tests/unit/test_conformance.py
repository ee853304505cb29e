"""The spec conformance table (Documentation/conformance.rst) is complete.

Every driver requirement of the virtio 1.4 GPIO section (read from the
specification's own LaTeX in Documentation/spec-sources/) and every
labelled driver requirement of Documentation/spec.rst has a row; every
normative sentence of the virtio section is accounted for; every driver
row names a test or is a known gap; every named test exists in pytest's
own collection.
"""

import os
import re

import docutils.core
import pytest
from docutils import nodes

from checkout import ROOT
from collection import collect

TABLE = os.path.join(ROOT, "Documentation", "conformance.rst")
SPEC = os.path.join(ROOT, "Documentation", "spec.rst")
TEX = os.path.join(ROOT, "Documentation", "spec-sources",
                   "gpio-description-v1.4-csd01.tex")

#: rows that say "Known gap": each must be a deliberate entry here too, so
#: a new gap (or a closed one) shows up in review, not only in the docs
KNOWN_GAPS = set()

DRIVER_TABLES = ("virtio-driver-normative", "virtio-driver-prose",
                 "id30-driver")
VIRTIO_TABLES = ("virtio-driver-normative", "virtio-driver-prose",
                 "virtio-device")

# -- the LaTeX of the virtio spec ------------------------------------------------

SECTION = r"\\(?:sub)*section"
NORMATIVE = re.compile(
    r"\\(drivernormative|devicenormative)\{" + SECTION +
    r"\}\{([^}]*)\}\{([^}]*)\}(.*?)(?=\\(?:drivernormative|devicenormative)\b|"
    + SECTION + r"\b|\Z)", re.S)
KEYWORD = re.compile(r"\b(must|should|shall|MUST|SHOULD|SHALL|MAY|allowed)\b")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def plain(text):
    """LaTeX fragment or rst cell text as one line of words."""
    text = re.sub(r"\\field\{([^}]*)\}", r"\1", text)
    return " ".join(text.replace("\\_", "_").split())


def normative_items(tex):
    """[(is_driver, block title, item text)] of every normative block.

    A block binds the driver when it is a \\drivernormative one or its
    title names the driver.
    """
    items = []
    for m in NORMATIVE.finditer(tex):
        driver = m.group(1) == "drivernormative" or "Driver" in m.group(2)
        body = re.sub(r"\\(begin|end)\{itemize\}", " ", m.group(4))
        items += [(driver, m.group(2), plain(item))
                  for item in body.split("\\item")[1:]]
    return items


def prose_sentences(tex):
    """Sentences outside the normative blocks, listings and tables that
    carry a requirement keyword (in either case)."""
    text = NORMATIVE.sub(" ", tex)
    text = re.sub(r"\\begin\{(lstlisting|tabularx)\}.*?\\end\{\1\}", " ",
                  text, flags=re.S)
    text = re.sub(SECTION + r"\{[^}]*\}\\label\{[^}]*\}", ". ", text)
    text = re.sub(r"\\(begin|end)\{\w+\}", " ", text)
    text = plain(re.sub(r"\\item(\[[^]]*\])?", ". ", text))
    return [s.strip(" .") + "." for s in re.split(r"(?<=\.)\s+(?=[A-Z])", text)
            if KEYWORD.search(s)]


# -- the tables of conformance.rst --------------------------------------------------

def tables(rst):
    """{table name: [row]}; a row is {"id", "statement", "tests", "gap"}."""
    doctree = docutils.core.publish_doctree(rst, settings_overrides={
        "report_level": 5, "halt_level": 5})
    found = {}
    for table in doctree.findall(nodes.table):
        if not table["names"]:
            continue
        rows = []
        for row in list(table.findall(nodes.row))[1:]:  # header row first
            cells = [entry for entry in row.children]
            last = cells[-1]
            items = [item.astext() for item in last.findall(nodes.list_item)]
            rows.append({
                "id": cells[0].astext().strip(),
                "statement": plain(cells[-2].astext()),
                "tests": [t.astext() for t in last.findall(nodes.literal)
                          if t.astext().startswith("tests/")],
                "gap": any(i.startswith("Known gap") for i in items),
            })
        found[table["names"][0]] = rows
    return found


def spec_labels(spec):
    """The DRV-n labels of spec.rst's "Driver requirements" section."""
    start = spec.index("\nDriver requirements\n===")
    section = spec[start:].split("\n=====", 2)[1]
    section = section.rsplit("\n", 1)[0]
    return re.findall(r"^(DRV-\d+)$", section, re.MULTILINE)


# -- the checks, as functions of their inputs so they can be tested too ---------

def missing_driver_requirements(tex, found):
    listed = {row["statement"] for row in found["virtio-driver-normative"]}
    return [text for driver, _, text in normative_items(tex)
            if driver and text not in listed]


def unaccounted_sentences(tex, found):
    listed = {row["statement"] for name in VIRTIO_TABLES
              for row in found[name]}
    every = [text for _, _, text in normative_items(tex)]
    every += prose_sentences(tex)
    return sorted({text for text in every if text not in listed})


def stale_quotes(tex, found):
    """Quoted statements that are not (or no longer) in the spec."""
    every = {text for _, _, text in normative_items(tex)}
    every |= set(prose_sentences(tex))
    return [row["id"] for name in VIRTIO_TABLES for row in found[name]
            if row["statement"] not in every]


def rows_without_tests(found):
    return [row["id"] for name in DRIVER_TABLES for row in found[name]
            if not row["tests"] and not row["gap"]]


def unknown_tests(found, collected):
    unknown = []
    for rows in found.values():
        for row in rows:
            for test in row["tests"]:
                if test not in collected and not any(
                        c.startswith(test + "[") for c in collected):
                    unknown.append((row["id"], test))
    return unknown


@pytest.fixture(scope="module")
def found():
    return tables(read(TABLE))


@pytest.fixture(scope="module")
def tex():
    return read(TEX)


# -- the page is complete ---------------------------------------------------------

def test_spec_source_holds_what_the_extractor_expects(tex):
    # A silently broken extractor would find nothing missing.
    items = normative_items(tex)
    assert sum(driver for driver, _, _ in items) == 9 + 4
    assert sum(not driver for driver, _, _ in items) == 10 + 2
    assert {title for _, title, _ in items} == {"requestq Operation",
                                               "eventq Operation"}
    assert len(prose_sentences(tex)) >= 20


def test_every_virtio_driver_requirement_has_a_row(tex, found):
    assert missing_driver_requirements(tex, found) == []
    assert len(found["virtio-driver-normative"]) == 13


def test_every_normative_sentence_of_the_section_is_accounted_for(tex, found):
    assert unaccounted_sentences(tex, found) == []
    assert stale_quotes(tex, found) == []


def test_every_labelled_requirement_of_our_spec_has_a_row(found):
    labels = spec_labels(read(SPEC))
    assert labels == ["DRV-%d" % n for n in range(1, len(labels) + 1)]
    assert [row["id"] for row in found["id30-driver"]] == labels


def test_row_ids_are_unique(found):
    ids = [row["id"] for rows in found.values() for row in rows]
    assert len(ids) == len(set(ids))


def test_every_driver_row_has_a_test_or_is_a_known_gap(found):
    assert rows_without_tests(found) == []
    gaps = {row["id"] for name in DRIVER_TABLES for row in found[name]
            if row["gap"]}
    assert gaps == KNOWN_GAPS


def test_every_listed_test_exists(found):
    files = {test.split("::")[0] for rows in found.values() for row in rows
             for test in row["tests"]}
    assert files
    missing = [f for f in files if not os.path.isfile(os.path.join(ROOT, f))]
    assert missing == []
    assert unknown_tests(found, collect(files)) == []


# -- the checks can fail --------------------------------------------------------------

def test_a_new_driver_requirement_in_the_spec_is_caught(tex, found):
    grown = tex.replace(
        "\\item The driver MUST enable the interrupt before unmasking it.",
        "\\item The driver MUST enable the interrupt before unmasking it.\n"
        "\\item The driver MUST NOT queue an \\field{eventq} buffer twice.")
    assert grown != tex
    assert missing_driver_requirements(grown, found) == [
        "The driver MUST NOT queue an eventq buffer twice."]
    assert unaccounted_sentences(grown, found) == [
        "The driver MUST NOT queue an eventq buffer twice."]


def test_a_new_keyword_sentence_in_the_prose_is_caught(tex, found):
    grown = tex.replace(
        "The driver sends this message to request the device to return a "
        "line's\nconfigured direction.",
        "The driver sends this message to request the device to return a "
        "line's\nconfigured direction. The driver should cache it.")
    assert grown != tex
    assert unaccounted_sentences(grown, found) == ["The driver should cache it."]


def test_a_devicenormative_block_titled_for_the_driver_counts():
    tex = ("\\devicenormative{\\subsubsection}{Driver Setup}{X}\n"
           "\\begin{itemize}\n\\item The driver MUST do \\field{x}.\n"
           "\\end{itemize}\n")
    assert normative_items(tex) == [(True, "Driver Setup",
                                     "The driver MUST do x.")]


def test_a_row_without_tests_and_a_missing_test_are_caught(found):
    rst = read(TABLE)
    row = found["id30-driver"][3]
    assert row["id"] == "DRV-4" and row["tests"]
    emptied = rst.replace("       - ``%s``\n" % row["tests"][0], "", 1)
    assert "DRV-4" in rows_without_tests(tables(emptied))
    renamed = rst.replace(row["tests"][0], row["tests"][0] + "_renamed", 1)
    collected = collect({row["tests"][0].split("::")[0]})
    rows = {"id30-driver": tables(renamed)["id30-driver"][3:4]}
    assert unknown_tests(rows, collected) == [
        ("DRV-4", row["tests"][0] + "_renamed")]
    assert unknown_tests({"id30-driver": found["id30-driver"][3:4]},
                         collected) == []


def test_a_requirement_added_to_our_spec_is_caught(found):
    last = spec_labels(read(SPEC))[-1]
    new = "DRV-%d" % (int(last.split("-")[1]) + 1)
    spec = read(SPEC).replace(
        "\n%s\n" % last, "\n%s\n   One more.\n%s\n" % (new, last), 1)
    assert new in spec_labels(spec)
    assert [row["id"] for row in found["id30-driver"]] != spec_labels(spec)
