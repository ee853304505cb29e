"""Can a symbol be m, can it be y, under a given .config - and if not, why."""

import dataclasses
from typing import Dict, List

import kconfiglib

from .rules import conjuncts

TRI = ("n", "m", "y")


@dataclasses.dataclass
class Verdict:
    """Reachability of one symbol under one configuration."""

    symbol: str
    reachable: Dict[str, bool]
    blockers: Dict[str, List[str]]

    def __str__(self):
        parts = []
        for value in ("m", "y"):
            if self.reachable[value]:
                parts.append("%s=%s reachable" % (self.symbol, value))
            else:
                parts.append("%s=%s blocked by %s" % (
                    self.symbol, value, "; ".join(self.blockers[value])))
        return ", ".join(parts)


def _blockers(kconf, sym, want):
    found = []
    if want == 1 and sym.orig_type == kconfiglib.BOOL:
        return ["%s is bool, it has no m" % sym.name]
    if want == 1 and kconf.modules.tri_value == 0:
        found.append("%s=n" % kconf.modules.name)
    for term in conjuncts(sym.direct_dep):
        value = kconfiglib.expr_value(term)
        if value < want:
            found.append("%s (= %s)" % (kconfiglib.expr_str(term), TRI[value])
                         if isinstance(term, tuple) else
                         "%s=%s" % (kconfiglib.expr_str(term), TRI[value]))
    if not found and sym.visibility < want:
        for node in sym.nodes:
            if node.prompt:
                cond = node.prompt[1]
                found.append("prompt condition %s (= %s)"
                             % (kconfiglib.expr_str(cond),
                                TRI[kconfiglib.expr_value(cond)]))
    return found or ["not assignable (assignable: %s)"
                     % ", ".join(TRI[v] for v in sym.assignable)]


def check(kconf, config_path, name):
    """Load ``config_path`` and judge ``name``'s reachability."""
    kconf.load_config(config_path)
    sym = kconf.syms[name]
    reachable, blockers = {}, {}
    for text, want in (("m", 1), ("y", 2)):
        ok = want in sym.assignable and not (
            want == 1 and sym.orig_type == kconfiglib.BOOL)
        reachable[text] = ok
        blockers[text] = [] if ok else _blockers(kconf, sym, want)
    return Verdict(name, reachable, blockers)
