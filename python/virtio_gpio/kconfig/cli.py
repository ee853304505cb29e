"""vgpio-kconfig-lint: lint a Kconfig entry inside a real or fixture tree.

The snippet is inserted into drivers/gpio/Kconfig of a staged copy of the
tree (replacing an existing definition of the same symbol, else at the
end of the "Virtual GPIO drivers" menu, else before the GPIOLIB endif),
the tree is parsed with kconfiglib, and the snippet's symbols are checked.
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import textwrap

import kconfiglib

from .. import progress
from ..clitext import plain
from . import (conf, kconfiglib_compat, loops, randconfig, rules, satisfy,
               tree)


def _checks():
    """The rules, one per paragraph, as the help lists them."""
    return "\n".join(textwrap.fill(r.summary, 79,
                                   initial_indent="  %-18s" % r.name,
                                   subsequent_indent=" " * 20)
                     for r in rules.RULES)


EPILOG = """\
checks:
%s

compatibility steps (staged copy for kconfiglib only; conf reads the tree as is):
%s

exit status:
  0  no findings
  1  findings
  2  usage error, unreadable tree or snippet, or a parse error
""" % (_checks(),
       "\n".join(textwrap.fill(line, 79, initial_indent="  ",
                               subsequent_indent="    ")
                 for line in kconfiglib_compat.NOTE.splitlines()))


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="vgpio-kconfig-lint", description=plain(__doc__),
        epilog=plain(EPILOG),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", required=True, metavar="DIR",
                        help="kernel source tree or fixture tree (has a "
                             "top-level Kconfig and drivers/gpio/Kconfig)")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--snippet", metavar="FILE",
                       help="Kconfig entry to insert and lint")
    group.add_argument("--no-snippet", action="store_true",
                       help="lint the tree as it is (give --symbol)")
    parser.add_argument("--symbol", action="append", default=[],
                        metavar="NAME", help="symbol to lint (default: every "
                        "symbol the snippet defines); repeatable")
    parser.add_argument("--arch", action="append", default=[],
                        choices=sorted(tree.ARCHES),
                        help="architecture (ARCH) to parse for; repeatable; "
                             "default x86")
    parser.add_argument("--config", metavar="FILE",
                        help="a .config (e.g. /boot/config-*): report "
                             "whether each symbol can be m and y")
    parser.add_argument("--random", type=int, default=0, metavar="N",
                        help="check N random configurations: every symbol "
                             "that is not n has its 'depends on' symbols >= "
                             "itself and its bool selects = y")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for --random (default 0)")
    parser.add_argument("--conf-check", action="store_true",
                        help="cross-check loops and --config verdicts with "
                             "the kernel's conf tool")
    parser.add_argument("--conf", metavar="PATH",
                        help="conf binary (default: built from the tree's "
                             "scripts/kconfig and cached; for a tree without "
                             "one, %s)" % conf.DEFAULT_CONF.replace("%", "%%"))
    parser.add_argument("--format", choices=("human", "json"),
                        default="human", help="output format")
    return parser.parse_args(argv)


def snippet_symbols(text):
    names = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("config", "menuconfig"):
            names.append(parts[1])
    return names


def required_at_least(sym):
    """Plain symbols ANDed into ``sym``'s dependencies (inherited ones too)."""
    return sorted(t.name for t in rules.conjuncts(sym.direct_dep)
                  if isinstance(t, kconfiglib.Symbol) and t.nodes)


def lint_arch(args, arch, snippet, names, workdir):
    """Everything for one architecture, as a JSON-able dict."""
    staged = tree.stage(args.tree, os.path.join(workdir, arch), snippet)
    parsed = tree.load(staged.root, arch)
    kconf = parsed.kconf
    # Taken now: --random and --config below set values, and what
    # kconfiglib warns about those configs is not the snippet's doing.
    warnings = tree.evaluated_warnings(parsed, staged.root)
    report = {
        "arch": arch,
        "snippet": {"inserted_into": staged.inserted_into,
                    "replaced_existing": staged.replaced_existing},
        "compat_rewrites": ["%s:%d" % edit for edit in staged.compat_rewrites],
        "compat_steps": {name: ["%s:%d" % edit for edit in edits]
                         for name, edits in staged.compat_steps.items()},
        "symbols": names,
        "loops": [[vars(step) for step in loop]
                  for loop in loops.find_loops(kconf, prefer=names)],
        "findings": [vars(f) for f in rules.check(kconf, names)],
    }
    report["findings"] += [
        {"rule": "kconfiglib", "symbol": symbol, "location": "",
         "message": warning}
        for warning, symbol in new_warnings(args, arch, snippet, names,
                                            warnings, workdir)]
    report["findings"] += [
        {"rule": "loop", "symbol": loop[0]["symbol"],
         "location": loop[0]["location"],
         "message": "recursive dependency through %d symbols"
                    % len(loop)} for loop in report["loops"]]
    if parsed.kconfiglib_loop and not report["loops"]:
        report["findings"].append({
            "rule": "loop", "symbol": "", "location": "",
            "message": "kconfiglib reports a loop: %s"
                       % parsed.kconfiglib_loop.strip()})
    if args.random:
        report["random"] = {}
        for name in names:
            sym = kconf.syms[name]
            at_least = required_at_least(sym)
            must_be_y = [t.name for t, _ in sym.selects
                         if t.orig_type == kconfiglib.BOOL]
            enabled, problems = randconfig.run(
                kconf, name, args.random, args.seed, at_least, must_be_y)
            report["random"][name] = {"configs": args.random,
                                      "enabled": enabled,
                                      "at_least": at_least,
                                      "must_be_y": must_be_y}
            report["findings"] += [{"rule": "random-config", "symbol": name,
                                    "location": "", "message": p}
                                   for p in problems]
    if args.config:
        report["satisfiability"] = {}
        for name in names:
            verdict = satisfy.check(kconf, args.config, name)
            report["satisfiability"][name] = {
                "reachable": verdict.reachable, "blockers": verdict.blockers,
                "summary": str(verdict)}
            if not any(verdict.reachable.values()):
                report["findings"].append({
                    "rule": "unreachable", "symbol": name, "location": "",
                    "message": str(verdict)})
    if args.conf_check:
        report["conf"] = cross_check(args, arch, snippet, workdir, report)
    return report


def new_warnings(args, arch, snippet, names, warnings, workdir):
    """(warning, symbol) for each kconfiglib warning that the snippet
    brings: every one that names a symbol under lint (the symbol), and
    every other one the tree without the snippet does not give ("").

    Without a snippet, or when the tree without it has a dependency loop
    (nothing to evaluate, so nothing fair to compare with), only the
    warnings that name a symbol count.
    """
    patterns = [(name, re.compile(r"\b%s\b" % re.escape(name)))
                for name in names]
    named = {key: next((name for name, pattern in patterns
                        if pattern.search(text)), "")
             for key, text in warnings.items()}
    baseline = set(warnings)
    if snippet is not None and not all(named.values()):
        tree_own = _baseline(args.tree, arch, workdir)
        if tree_own is not None:
            baseline = tree_own
    return [(text, named[key]) for key, text in warnings.items()
            if named[key] or key not in baseline]


#: (tree, arch, its Kconfig files' state) -> the tree's own warnings
_BASELINES = {}


def _baseline(tree_dir, arch, workdir):
    """The comparable warnings of ``tree_dir`` without a snippet, or None
    when it has a dependency loop; computed once per process and tree
    state (a real tree takes seconds to parse and evaluate)."""
    key = (os.path.realpath(tree_dir), arch, tree.kconfig_state(tree_dir))
    if key not in _BASELINES:
        staged = tree.stage(tree_dir, os.path.join(workdir, arch + "-base"))
        base = tree.load(staged.root, arch)
        _BASELINES[key] = (None if base.kconfiglib_loop is not None else
                           frozenset(tree.evaluated_warnings(base,
                                                             staged.root)))
    return _BASELINES[key]


def cross_check(args, arch, snippet, workdir, report):
    """Ask the kernel's conf the same questions; disagreement is a finding."""
    staged = tree.stage(args.tree, os.path.join(workdir, arch + "-conf"),
                        snippet, compat=False)
    if not args.conf:
        args.conf = conf.for_tree(args.tree)
    result = {"binary": args.conf,
              "recursive_dependency": conf.recursive_dependencies(
                  staged.root, arch, args.conf)}
    conf_loop = any("recursive dependency" in line
                    for line in result["recursive_dependency"])
    if conf_loop != bool(report["loops"]):
        report["findings"].append({
            "rule": "conf-disagrees", "symbol": "", "location": "",
            "message": "conf %s a recursive dependency, this lint %s"
                       % ("reports" if conf_loop else "reports no",
                          "does too" if report["loops"] else "does not")})
    if args.config:
        result["reachable"] = {}
        for name, ours in report["satisfiability"].items():
            theirs = conf.reachable(staged.root, arch, args.config, name,
                                    args.conf)
            result["reachable"][name] = theirs
            if theirs != ours["reachable"]:
                report["findings"].append({
                    "rule": "conf-disagrees", "symbol": name, "location": "",
                    "message": "conf says %s, kconfiglib says %s"
                               % (theirs, ours["reachable"])})
    return result


def human(reports):
    out = []
    for report in reports:
        out.append("== %s: %s ==" % (report["arch"], ", ".join(report["symbols"])))
        if report["snippet"]["inserted_into"]:
            out.append("snippet %s %s" % (
                "replaced the existing entry in" if
                report["snippet"]["replaced_existing"] else "inserted into",
                report["snippet"]["inserted_into"]))
        changes = {step.name: step.change
                   for step in kconfiglib_compat.STEPS}
        for name, edits in report["compat_steps"].items():
            for edit in edits:
                out.append("compat: %s: %s (%s step: kconfiglib 14.1 "
                           "predates it)" % (edit, changes[name], name))
        for loop in report["loops"]:
            first = loop[0]
            out.append("%s:error: recursive dependency detected!"
                       % first["location"])
            for step in loop:
                out.append("%s: symbol %s %s %s" % (
                    step["location"], step["symbol"], step["relation"],
                    step["other"]))
        for name, verdict in report.get("satisfiability", {}).items():
            out.append("config: %s" % verdict["summary"])
        for name, info in report.get("random", {}).items():
            out.append("random: %d configs, %s enabled in %d" % (
                info["configs"], name, info["enabled"]))
        if "conf" in report:
            out.append("conf (%s): recursive dependency %s; reachable %s" % (
                report["conf"]["binary"],
                "reported" if any("recursive" in l for l in
                                  report["conf"]["recursive_dependency"])
                else "none",
                report["conf"].get("reachable", "-")))
        for f in report["findings"]:
            where = (f["location"] + ": ") if f["location"] else ""
            out.append("%s%s: %s [%s]" % (where, f["symbol"] or "-",
                                          f["message"], f["rule"]))
        out.append("verdict: %s" % ("clean" if not report["findings"] else
                                    "%d finding(s)" % len(report["findings"])))
    return "\n".join(out)


def main(argv=None):
    try:
        args = parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    arches = args.arch or ["x86"]
    try:
        if args.snippet:
            with open(args.snippet, encoding="utf-8") as f:
                snippet = f.read()
            names = args.symbol or snippet_symbols(snippet)
            if not names:
                raise tree.StagingError("%s defines no symbol" % args.snippet)
        else:
            snippet, names = None, args.symbol
            if not names:
                raise tree.StagingError("--no-snippet needs --symbol")
        workdir = tempfile.mkdtemp(prefix="vgpio-kconfig-")
        try:
            reports = [lint_arch(args, arch, snippet, names, workdir)
                       for arch in arches]
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    except (OSError, tree.StagingError, kconfiglib.KconfigError,
            conf.ConfError, progress.BuildFailed, KeyError) as exc:
        print("vgpio-kconfig-lint: error: %s" % str(exc).strip(),
              file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps({"reports": reports,
                          "compat_note": kconfiglib_compat.NOTE,
                          "clean": not any(r["findings"] for r in reports)},
                         indent=2))
    else:
        print(human(reports))
    return 1 if any(r["findings"] for r in reports) else 0
