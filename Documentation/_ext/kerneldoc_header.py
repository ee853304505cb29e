# SPDX-License-Identifier: GPL-2.0-or-later
"""Sphinx directive ``kernel-doc-header``: C API docs from kernel-doc comments.

A small stand-in for the kernel's scripts/kernel-doc, enough for our
headers: each ``/** name() - summary`` or ``/** struct name - summary``
comment, with its ``@param:`` lines and ``Return:`` section, becomes a
``c:function`` or ``c:struct`` entry using the declaration that follows.
"""

import os
import re

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList

COMMENT = re.compile(r"/\*\*\n?(.*?)\*/\s*(.*?)(?=;\s*$|\{)",
                     re.DOTALL | re.MULTILINE)


def _clean(body):
    lines = []
    for line in body.splitlines():
        line = re.sub(r"^\s*\* ?", "", line)
        lines.append(line.rstrip())
    while lines and not lines[-1]:
        lines.pop()
    return lines


def parse(text):
    """Yield (kind, name, declaration, summary, params, body, returns)."""
    for m in COMMENT.finditer(text):
        lines = _clean(m.group(1))
        decl = " ".join(m.group(2).split())
        if not lines:
            continue
        head = lines[0].strip()
        hm = re.match(r"(struct\s+|enum\s+)?([\w]+)(\(\))?\s*-\s*(.*)", head)
        if not hm:
            continue
        kind = (hm.group(1) or "function").strip()
        name, summary = hm.group(2), hm.group(4)
        params, rest, returns, current = [], [], [], None
        for line in lines[1:]:
            pm = re.match(r"@(\w+):\s*(.*)", line)
            if pm:
                current = [pm.group(1), pm.group(2)]
                params.append(current)
            elif line.startswith("Return:"):
                current = ["", line[len("Return:"):].strip()]
                returns.append(current)
            elif current is not None and line.strip() and (
                    line.startswith((" ", "\t")) or current[0] == ""):
                current[1] += " " + line.strip()
            else:
                current = None
                rest.append(line)
        yield kind, name, decl, summary, params, rest, [r[1] for r in returns]


def _rst(text):
    """Kernel-doc prose as inline RST: no stray emphasis or references."""
    text = text.replace("\\", "\\\\").replace("*", r"\*")
    return re.sub(r"(\w)_(?=\W|$)", r"\1\\_", text)


class KernelDocHeader(Directive):
    required_arguments = 1

    def run(self):
        env = self.state.document.settings.env
        path = os.path.join(env.config.kerneldoc_root, self.arguments[0])
        env.note_dependency(path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        out = []
        for kind, name, decl, summary, params, rest, returns in parse(text):
            if kind in ("struct", "enum"):
                out.append(".. c:%s:: %s" % (kind, name))
            else:
                out.append(".. c:function:: %s" % decl.rstrip(";"))
            out += ["", "   " + _rst(summary), ""]
            out += ["   " + _rst(line) for line in rest]
            out.append("")
            if kind == "enum":
                for pname, desc in params:
                    out += ["   .. c:enumerator:: %s" % pname, "",
                            "      " + _rst(desc), ""]
                continue
            field = "member" if kind == "struct" else "param"
            out += ["   :%s %s: %s" % (field, pname, _rst(desc))
                    for pname, desc in params]
            out += ["   :returns: " + _rst(text) for text in returns]
            out.append("")
        node = nodes.section()
        node.document = self.state.document
        self.state.nested_parse(StringList(out, path), 0, node)
        return node.children


def setup(app):
    app.add_config_value("kerneldoc_root", "..", "env")
    app.add_directive("kernel-doc-header", KernelDocHeader)
    return {"parallel_read_safe": True, "version": "1"}
