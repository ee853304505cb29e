"""The rewrites that let kconfiglib 14.1 read newer kernels' Kconfig files.

kconfiglib 14.1 is from 2020 and stops at the first Kconfig construct the
kernel added since. Each :class:`CompatStep` rewrites one such construct,
line by line, into one kconfiglib reads with the same meaning (``NOTE``
says why each is safe). They are applied to a staged copy only
(:func:`virtio_gpio.kconfig.tree.stage`); the kernel's own conf reads the
tree unchanged.
"""

import dataclasses
import os
import re
from typing import Callable, Optional

from . import expressions


class CompatError(ValueError):
    """An unknown step was asked for, or a line cannot be rewritten."""


@dataclasses.dataclass(frozen=True)
class CompatStep:
    """One rewrite that lets kconfiglib 14.1 parse a newer construct.

    ``rewrite`` gets one line of a Kconfig file and returns its
    replacement (a single line, so that line numbers stay those of the
    tree), or None to leave it alone.
    """

    name: str
    change: str
    note: str
    rewrite: Callable[[str], Optional[str]]


# -- modules: 'option modules' became a bare attribute ----------------------

_BARE_MODULES = re.compile(r"^(\s+)modules\s*$")


def rewrite_modules(line):
    m = _BARE_MODULES.match(line)
    return m.group(1) + "option modules\n" if m else None


# -- transitional: a symbol kept only to migrate an old .config -------------

_TRANSITIONAL = re.compile(r"^(\s+)transitional\s*$")


def rewrite_transitional(line):
    m = _TRANSITIONAL.match(line)
    return (m.group(1) + "# transitional (dropped for kconfiglib)\n"
            if m else None)


# -- depends on X if Y: a conditional dependency ----------------------------

_DEPENDS = re.compile(r"^(\s+)depends\s+on\s+(.*?)\s*$")


def rewrite_conditional_depends(line):
    m = _DEPENDS.match(line)
    if not m or not re.search(r"\bif\b", m.group(2)):
        return None
    found, comment = expressions.tokens(m.group(2))
    depth, split = 0, None
    for i, token in enumerate(found):
        depth += {"(": 1, ")": -1}.get(token, 0)
        if token == "if" and depth == 0:
            split = i
            break
    if split is None:
        return None
    dep = expressions.parse(found[:split])
    cond = expressions.parse(found[split + 1:])
    return "%sdepends on (%s) || %s%s\n" % (
        m.group(1), expressions.unparse(dep), expressions.equals_n(cond),
        " " + comment if comment else "")


STEPS = (
    CompatStep(
        "modules", "'modules' -> 'option modules'",
        "kconfiglib 14.1 predates Linux 5.13, which turned 'option modules' "
        "into a bare 'modules' attribute (kernel/module/Kconfig in 6.1). The "
        "staged copy spells it 'option modules', which kconfiglib understands "
        "with the same meaning.", rewrite_modules),
    CompatStep(
        "transitional", "'transitional' dropped",
        "the 'transitional' attribute (newer than 6.12) marks a promptless "
        "symbol that only carries an old .config value over to its renamed "
        "successor and is never written out (kconfig-language.rst). The staged "
        "copy drops the attribute: kconfiglib then sees an ordinary promptless "
        "symbol without default, which is n whatever an old .config says "
        "(conf would read the old value). Only migration from an old "
        ".config differs; --conf-check, whose conf reads the attribute, "
        "reports any verdict on the snippet's symbols that this changes.",
        rewrite_transitional),
    CompatStep(
        "conditional-depends", "'depends on X if Y' -> "
        "'depends on (X) || Y = n'",
        "'depends on X if Y' (newer than 6.12) constrains by X only when Y is "
        "not n. The staged copy writes the expression the kernel's parser "
        "builds for it (menu_add_dep: X || (Y = n), with '= n' pushed into Y "
        "the way expr_trans_compare does), which kconfiglib reads with the "
        "same meaning.", rewrite_conditional_depends),
)

NAMES = tuple(step.name for step in STEPS)

NOTE = "\n".join("%s: %s" % (step.name, step.note) for step in STEPS)


def select(names=None):
    """The steps called ``names`` (all when None), in STEPS order."""
    if names is None:
        return STEPS
    unknown = set(names) - set(NAMES)
    if unknown:
        raise CompatError("unknown compat step(s) %s (known: %s)"
                          % (", ".join(sorted(unknown)), ", ".join(NAMES)))
    return tuple(step for step in STEPS if step.name in names)


_HELP = re.compile(r"^\s+(---help---|help)\s*$")


def _indent(line):
    return len(line.expandtabs(8)) - len(line.expandtabs(8).lstrip())


def _help_lines(lines):
    """Indexes of help-text lines, which no step may touch: as the kernel's
    lexer reads them, the text after 'help' ends at the first non-blank
    line indented less than the text's first line."""
    found, i = set(), 0
    while i < len(lines):
        if not _HELP.match(lines[i]):
            i += 1
            continue
        i += 1
        first = None
        while i < len(lines):
            if lines[i].strip():
                if first is None:
                    first = _indent(lines[i])
                if _indent(lines[i]) < first or first == 0:
                    break
            found.add(i)
            i += 1
    return found


def _rewrite_file(root, name, steps):
    """Apply ``steps`` to the Kconfig file ``name`` under ``root``: {step
    name: [line numbers]} of what they rewrote."""
    path = os.path.join(root, name)
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        lines = f.readlines()
    help_text = _help_lines(lines)
    edits = {}
    for i, line in enumerate(lines):
        if i in help_text:
            continue
        for step in steps:
            try:
                new = step.rewrite(line)
            except expressions.ExpressionError as exc:
                raise CompatError("%s:%d: %s" % (name, i + 1, exc)) from exc
            if new is not None:
                lines[i] = line = new
                edits.setdefault(step.name, []).append(i + 1)
    if edits:
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.writelines(lines)
    return edits


def apply_by_step(root, steps=STEPS):
    """Apply ``steps`` to every Kconfig file under ``root``.

    Returns {step name: sorted [(file, line)]} for the steps that
    rewrote something.
    """
    edits = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            if not name.startswith("Kconfig"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), root)
            for step, numbers in _rewrite_file(root, rel, steps).items():
                edits.setdefault(step, []).extend(
                    (rel, number) for number in numbers)
    return {name: sorted(found) for name, found in edits.items()}


def every_edit(by_step):
    """The edits of :func:`apply_by_step`'s answer as one sorted list of
    (file, line)."""
    return sorted(edit for found in by_step.values() for edit in found)


def apply(root, steps=STEPS):
    """Apply ``steps`` under ``root``; every edit as a sorted list of
    (file, line)."""
    return every_edit(apply_by_step(root, steps))
