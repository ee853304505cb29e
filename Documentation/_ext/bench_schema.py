# SPDX-License-Identifier: GPL-2.0-or-later
"""Sphinx directive ``bench-file-reference``: the bench file's reference.

It renders :data:`virtio_gpio.testbench.schema.TABLES`, the schema the
loader checks files with, as one table of keys per kind of table: name,
allowed values, default, meaning. The user guide cannot describe a key
the loader does not know, nor miss one it does.
"""

import re

from docutils import nodes
from docutils.parsers.rst import Directive

from virtio_gpio.testbench import schema

HEADINGS = ("Key", "Allowed", "Default", "Meaning")
WIDTHS = (12, 30, 10, 48)


def _default(key):
    """The default column: (text, whether it is a value as the file
    spells it)."""
    if key.required:
        return "required", False
    if key.default is None:
        return "none", False
    return schema.show(key.default), True


#: what reads as code in the schema's plain-text docs: options, quoted
#: values, table headers, the feature bit (set as literals, which also
#: keeps "--control" from turning into a dash)
CODE = re.compile(r'(--[a-z][a-z-]*|"[^"]*"|\[\[[a-z.]+\]\]|VIRTIO_\w+)')


def _text(text):
    """``text`` as nodes, its code parts as literals."""
    out = []
    for index, part in enumerate(CODE.split(text)):
        if part:
            out.append(nodes.literal(part, part) if index % 2 else
                       nodes.Text(part))
    return out


def _cell(text, literal=False):
    entry = nodes.entry()
    paragraph = nodes.paragraph()
    paragraph.extend([nodes.literal(text, text)] if literal else _text(text))
    entry += paragraph
    return entry


def _row(cells):
    row = nodes.row()
    for text, literal in cells:
        row += _cell(text, literal)
    return row


def key_table(table):
    """A docutils table of ``table``'s keys, then its sub-tables'."""
    group = nodes.tgroup(cols=len(HEADINGS))
    for width in WIDTHS:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    head += _row((h, False) for h in HEADINGS)
    group += head
    body = nodes.tbody()
    for key in table.keys:
        body += _row(((key.name, True), (key.type.allowed, False),
                      _default(key), (key.doc, False)))
    for child in table.children:
        body += _row(((child.path[-1], True),
                      ("%s tables" % child.header, False), ("none", False),
                      (child.doc, False)))
    group += body
    out = nodes.table()
    out += group
    return out


class BenchFileReference(Directive):
    has_content = False

    def run(self):
        out = []
        for table in schema.TABLES:
            out.append(nodes.rubric("", "", nodes.literal(table.header,
                                                          table.header)
                                    if table.path else
                                    nodes.Text("The top level")))
            out.append(nodes.paragraph("", "", *_text(table.doc)))
            out.append(key_table(table))
        return out


def setup(app):
    app.add_directive("bench-file-reference", BenchFileReference)
    return {"parallel_read_safe": True, "version": "1"}
