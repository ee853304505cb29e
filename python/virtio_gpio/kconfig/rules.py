"""Named lint rules, after the kernel's Documentation/kbuild/kconfig-language.rst.

Every rule is declared here once, with its name and what it checks; the
CLI's help and the report are made from :data:`RULES`. Most rules take
the parsed Kconfig and one symbol under lint and say what is wrong with
it; the others are findings the CLI makes itself (a loop, a config that
cannot reach the symbol, ...). Rules look only at the symbols under lint
(the snippet's), not at the rest of the tree, which has its own
maintainers.
"""

import dataclasses
from typing import Callable, List, Optional

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


@dataclasses.dataclass(frozen=True)
class Rule:
    """A named check: ``check(kconf, sym)`` returns one message per problem
    of ``sym``; rules without one are reported by the CLI itself."""

    name: str
    summary: str
    check: Optional[Callable] = None


#: every rule, in the order the help lists them
RULES: List[Rule] = []


def declare(name, summary):
    """A rule whose findings the CLI makes (no per-symbol check)."""
    RULES.append(Rule(name, summary))


def rule(name, summary):
    """Register the decorated per-symbol check as rule ``name``."""
    def register(check):
        RULES.append(Rule(name, summary, check))
        return check
    return register


declare("loop", "recursive dependency anywhere in the tree, printed symbol "
        "by symbol as the kernel's kconfig prints it")


def _has_prompt(sym):
    return any(node.prompt for node in sym.nodes)


@rule("select-visible", "select of a symbol that has a prompt")
def select_visible(kconf, sym):
    """The user's choice of a visible symbol would be overridden."""
    return ["selects %s, which has a prompt; use 'depends on %s'"
            % (target.name, target.name)
            for target, _ in sym.selects if _has_prompt(target)]


@rule("select-with-deps",
      "select of a symbol whose dependencies are not implied")
def select_with_deps(kconf, sym):
    """select ignores the target's own dependencies."""
    findings = []
    have = {kconfiglib.expr_str(c) for c in conjuncts(sym.direct_dep)}
    for target, cond in sym.selects:
        have_here = have | {kconfiglib.expr_str(c) for c in conjuncts(cond)}
        missing = [kconfiglib.expr_str(c) for c in conjuncts(target.direct_dep)
                   if c is not kconf.y and kconfiglib.expr_str(c) not in have_here]
        if missing:
            findings.append(
                "selects %s, which depends on %s; select ignores that, so "
                "depend on it too or drop the select"
                % (target.name, " && ".join(missing)))
    return findings


@rule("select-bus", "select of VIRTIO or another bus/subsystem symbol")
def select_bus(kconf, sym):
    """A driver depends on its bus; selecting one creates loops."""
    return ["selects bus symbol %s; a driver must 'depends on %s' "
            "(selecting a bus creates dependency loops)"
            % (target.name, target.name)
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


@rule("undefined-symbol", "reference to a symbol defined nowhere")
def undefined(kconf, sym):
    """References to symbols defined nowhere in the tree."""
    return ["refers to %s, which is not defined anywhere" % item.name
            for item in _referenced(sym)
            if not item.nodes and not item.is_constant]


@rule("missing-help", "visible symbol without help text")
def missing_help(kconf, sym):
    """A visible symbol needs a help text that says what it is."""
    if not _has_prompt(sym):
        return []
    if any(node.help and node.help.strip() for node in sym.nodes):
        return []
    return ["has a prompt but no (or an empty) help text"]


@rule("type", "no type, select of a non-bool, symbol that can never be set")
def type_mistakes(kconf, sym):
    """Type and prompt mistakes."""
    findings = []
    if sym.orig_type == kconfiglib.UNKNOWN:
        findings.append("has no type")
    for target, _ in sym.selects + sym.implies:
        if target.nodes and target.orig_type not in BOOLISH:
            findings.append(
                "selects or implies %s, which is of type %s, not bool or "
                "tristate"
                % (target.name, kconfiglib.TYPE_TO_STR[target.orig_type]))
    selected = sym.rev_dep is not kconf.n or sym.weak_rev_dep is not kconf.n
    if not _has_prompt(sym) and not sym.defaults and not selected:
        findings.append("has no prompt, no default and nothing selects it: "
                        "it can never be enabled")
    return findings


declare("kconfiglib", "a warning kconfiglib gives on the tree with the "
        "snippet (values evaluated, as a config is written) that it does not "
        "give on the tree without it, or that names the symbol")
declare("unreachable", "with --config: the symbol can be neither m nor y")
declare("random-config", "with --random: an invariant broken in a random "
        "config")
declare("conf-disagrees", "with --conf-check: the kernel's conf tool "
        "disagrees")


def check(kconf, names):
    """The findings of every per-symbol rule for the symbols ``names``."""
    findings = []
    for name in names:
        sym = kconf.syms.get(name)
        if sym is None or not sym.nodes:
            continue
        for r in RULES:
            if r.check is not None:
                findings.extend(Finding(r.name, sym.name, location(sym), m)
                                for m in r.check(kconf, sym))
    return findings
