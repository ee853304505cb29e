"""Named lint rules, after the kernel's Documentation/kbuild/kconfig-language.rst.

Each rule takes the parsed Kconfig and one symbol under lint and returns
findings. Rules look only at the symbols under lint (the snippet's), not
at the rest of the tree, which has its own maintainers.
"""

import dataclasses
import re
from typing import Callable, List

import kconfiglib

# Bus and subsystem symbols: a driver depends on its bus, it never selects
# it ("select should be used with care ... only for non-visible symbols
# and symbols with no dependencies"); select VIRTIO is what the kernel
# test robot's recursive-dependency report traced back to.
BUS_SYMBOLS = frozenset({
    "ACPI", "ATA", "DRM", "FB", "HID", "I2C", "INPUT", "MMC", "NET", "OF",
    "PCI", "SCSI", "SERIAL_CORE", "SND", "SOUND", "SPI", "SPI_MASTER",
    "USB", "USB_SUPPORT", "VIRTIO", "VIRTIO_MENU",
})

BOOLISH = (kconfiglib.BOOL, kconfiglib.TRISTATE)


@dataclasses.dataclass(frozen=True)
class Finding:
    """One problem: which rule, where, and what to do about it."""

    rule: str
    symbol: str
    location: str
    message: str

    def __str__(self):
        return "%s: %s: %s [%s]" % (self.location, self.symbol, self.message,
                                    self.rule)


def location(sym):
    node = sym.nodes[0]
    return "%s:%d" % (node.filename, node.linenr)


def conjuncts(expr):
    """The AND-operands of ``expr``, flattened."""
    if isinstance(expr, tuple) and expr[0] == kconfiglib.AND:
        return conjuncts(expr[1]) + conjuncts(expr[2])
    return [expr]


def _finding(rule, sym, message):
    return Finding(rule, sym.name, location(sym), message)


def _has_prompt(sym):
    return any(node.prompt for node in sym.nodes)


def rule_select_visible(kconf, sym):
    """select of a symbol that has a prompt: the user's choice is overridden."""
    return [_finding("select-visible", sym,
                     "selects %s, which has a prompt; use 'depends on %s'"
                     % (target.name, target.name))
            for target, _ in sym.selects if _has_prompt(target)]


def rule_select_with_deps(kconf, sym):
    """select of a symbol whose own dependencies the selector does not imply."""
    findings = []
    have = {kconfiglib.expr_str(c) for c in conjuncts(sym.direct_dep)}
    for target, cond in sym.selects:
        have_here = have | {kconfiglib.expr_str(c) for c in conjuncts(cond)}
        missing = [kconfiglib.expr_str(c) for c in conjuncts(target.direct_dep)
                   if c is not kconf.y and kconfiglib.expr_str(c) not in have_here]
        if missing:
            findings.append(_finding(
                "select-with-deps", sym,
                "selects %s, which depends on %s; select ignores that, so "
                "depend on it too or drop the select"
                % (target.name, " && ".join(missing))))
    return findings


def rule_select_bus(kconf, sym):
    """select of VIRTIO or another bus/subsystem symbol."""
    return [_finding("select-bus", sym,
                     "selects bus symbol %s; a driver must 'depends on %s' "
                     "(selecting a bus creates dependency loops)"
                     % (target.name, target.name))
            for target, _ in sym.selects if target.name in BUS_SYMBOLS]


def _referenced(sym):
    exprs = [sym.direct_dep]
    exprs += [cond for _, cond in sym.selects + sym.implies]
    exprs += [t for t, _ in sym.selects + sym.implies]
    for value, cond in sym.defaults:
        exprs += [value, cond]
    for low, high, cond in sym.ranges:
        exprs += [low, high, cond]
    for node in sym.nodes:
        if node.prompt:
            exprs.append(node.prompt[1])
    items = []
    for expr in exprs:
        for item in kconfiglib.expr_items(expr):
            if isinstance(item, kconfiglib.Symbol) and item not in items:
                items.append(item)
    return items


def rule_undefined(kconf, sym):
    """references to symbols defined nowhere in the tree."""
    return [_finding("undefined-symbol", sym,
                     "refers to %s, which is not defined anywhere" % item.name)
            for item in _referenced(sym)
            if not item.nodes and not item.is_constant]


def rule_help(kconf, sym):
    """a visible symbol needs a help text that says what it is."""
    if not _has_prompt(sym):
        return []
    if any(node.help and node.help.strip() for node in sym.nodes):
        return []
    return [_finding("missing-help", sym,
                     "has a prompt but no (or an empty) help text")]


def rule_type(kconf, sym):
    """type and prompt mistakes."""
    findings = []
    if sym.orig_type == kconfiglib.UNKNOWN:
        findings.append(_finding("type", sym, "has no type"))
    for target, _ in sym.selects + sym.implies:
        if target.nodes and target.orig_type not in BOOLISH:
            findings.append(_finding(
                "type", sym, "selects or implies %s, which is of type %s, "
                "not bool or tristate"
                % (target.name, kconfiglib.TYPE_TO_STR[target.orig_type])))
    selected = sym.rev_dep is not kconf.n or sym.weak_rev_dep is not kconf.n
    if not _has_prompt(sym) and not sym.defaults and not selected:
        findings.append(_finding(
            "type", sym, "has no prompt, no default and nothing selects it: "
            "it can never be enabled"))
    return findings


def rule_kconfiglib_warnings(kconf, sym):
    """kconfiglib's own warnings about this symbol."""
    pattern = re.compile(r"\b%s\b" % re.escape(sym.name))
    return [_finding("kconfiglib", sym, warning.replace("\n", " "))
            for warning in kconf.warnings if pattern.search(warning)]


RULES: List[Callable] = [
    rule_select_visible, rule_select_with_deps, rule_select_bus,
    rule_undefined, rule_help, rule_type, rule_kconfiglib_warnings,
]

RULE_NAMES = ("loop", "select-visible", "select-with-deps", "select-bus",
              "undefined-symbol", "missing-help", "type", "kconfiglib")


def check(kconf, names):
    """All findings for the symbols ``names``."""
    findings = []
    for name in names:
        sym = kconf.syms.get(name)
        if sym is None or not sym.nodes:
            continue
        for rule in RULES:
            findings.extend(rule(kconf, sym))
    return findings
