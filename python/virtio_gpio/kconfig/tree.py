"""Stage a Kconfig tree for linting: copy, insert the snippet, make it parse.

Staging never touches the source tree. It copies the Kconfig files (and
``scripts/``, which Kconfig.include runs), puts the snippet into
drivers/gpio/Kconfig where it belongs, and, for kconfiglib only, applies
the compatibility rewrites in ``COMPAT_STEPS`` (see ``COMPAT_NOTE``):
kconfiglib 14.1 is from 2020 and stops at the first Kconfig construct
the kernel added since. The kernel's own conf reads the tree unchanged.
"""

import contextlib
import dataclasses
import os
import re
import shutil
import subprocess
from typing import Callable, Dict, List, Optional, Tuple

import kconfiglib

GPIO_KCONFIG = os.path.join("drivers", "gpio", "Kconfig")

# Lines that end a config entry (anything at column 0 that is a keyword).
_ENTRY_END = re.compile(
    r"^(config|menuconfig|choice|endchoice|menu|endmenu|if|endif|source|"
    r"comment|mainmenu)\b")


class StagingError(Exception):
    """The tree cannot be staged (missing files, bad snippet)."""


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


def _rewrite_modules(line):
    m = _BARE_MODULES.match(line)
    return m.group(1) + "option modules\n" if m else None


# -- transitional: a symbol kept only to migrate an old .config -------------

_TRANSITIONAL = re.compile(r"^(\s+)transitional\s*$")


def _rewrite_transitional(line):
    m = _TRANSITIONAL.match(line)
    return (m.group(1) + "# transitional (dropped for kconfiglib)\n"
            if m else None)


# -- depends on X if Y: a conditional dependency ----------------------------

_DEPENDS = re.compile(r"^(\s+)depends\s+on\s+(.*?)\s*$")
_TOKEN = re.compile(r"""\s*(?:(\#.*)|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|"""
                    r"""(&&|\|\||!=|<=|>=|[!()=<>])|([^\s!()=<>&|"'\#]+))""")
_COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")


def _tokens(text):
    """Kconfig expression tokens of ``text`` and its trailing comment."""
    tokens, pos = [], 0
    while pos < len(text):
        macro = re.match(r"\s*\$\(", text[pos:])
        if macro:
            # A preprocessor macro is one operand: keep it whole, balanced.
            start, depth, pos = pos + macro.end() - 2, 0, pos + macro.end() - 1
            for pos in range(pos, len(text)):
                depth += {"(": 1, ")": -1}.get(text[pos], 0)
                if depth == 0:
                    break
            if depth:
                raise StagingError("unbalanced macro in %r" % text)
            pos += 1
            tokens.append(text[start:pos])
            continue
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if not text[pos:].strip():
                break
            raise StagingError("cannot tokenize %r" % text)
        pos = m.end()
        if m.group(1):
            return tokens, m.group(1)
        tokens.append(m.group(2) or m.group(3) or m.group(4))
    return tokens, ""


def _parse_expr(tokens):
    """A tiny Kconfig expression parser: (tree, rest) with kconfig's
    precedence (comparison, !, &&, ||)."""
    def primary(pos):
        if tokens[pos] == "(":
            node, pos = disjunction(pos + 1)
            if pos >= len(tokens) or tokens[pos] != ")":
                raise StagingError("unbalanced '(' in %r" % " ".join(tokens))
            return node, pos + 1
        if tokens[pos] == "!":
            node, pos = primary(pos + 1)
            return ("not", node), pos
        left = tokens[pos]
        if pos + 1 < len(tokens) and tokens[pos + 1] in _COMPARISONS:
            return ("cmp", tokens[pos + 1], left, tokens[pos + 2]), pos + 3
        return ("sym", left), pos + 1

    def conjunction(pos):
        node, pos = primary(pos)
        while pos < len(tokens) and tokens[pos] == "&&":
            right, pos = primary(pos + 1)
            node = ("and", node, right)
        return node, pos

    def disjunction(pos):
        node, pos = conjunction(pos)
        while pos < len(tokens) and tokens[pos] == "||":
            right, pos = conjunction(pos + 1)
            node = ("or", node, right)
        return node, pos

    try:
        node, pos = disjunction(0)
    except IndexError:
        raise StagingError("incomplete expression %r"
                           % " ".join(tokens)) from None
    if pos != len(tokens):
        raise StagingError("cannot parse %r" % " ".join(tokens))
    return node


def _is_n(node, equal=True):
    """``node = n`` (or ``!=`` when not ``equal``) spelled the way the
    kernel's expr_trans_compare(node, E_EQUAL, &symbol_no) builds it."""
    kind = node[0]
    if kind == "sym":
        return "%s %s n" % (node[1], "=" if equal else "!=")
    if kind == "not":
        return _is_n(node[1], not equal)
    if kind in ("and", "or"):
        joined = "(%s %s %s)" % (_is_n(node[1]),
                                 "||" if kind == "and" else "&&",
                                 _is_n(node[2]))
        return joined if equal else "!" + joined
    comparison = "(%s %s %s)" % (node[2], node[1], node[3])
    return "!" + comparison if equal else comparison


def _unparse(node):
    kind = node[0]
    if kind == "sym":
        return node[1]
    if kind == "not":
        return "!" + _unparse(node[1])
    if kind in ("and", "or"):
        return "(%s %s %s)" % (_unparse(node[1]),
                               "&&" if kind == "and" else "||",
                               _unparse(node[2]))
    return "%s %s %s" % (node[2], node[1], node[3])


def _rewrite_conditional_depends(line):
    m = _DEPENDS.match(line)
    if not m or not re.search(r"\bif\b", m.group(2)):
        return None
    tokens, comment = _tokens(m.group(2))
    depth, split = 0, None
    for i, token in enumerate(tokens):
        depth += {"(": 1, ")": -1}.get(token, 0)
        if token == "if" and depth == 0:
            split = i
            break
    if split is None:
        return None
    dep = _parse_expr(tokens[:split])
    cond = _parse_expr(tokens[split + 1:])
    return "%sdepends on (%s) || %s%s\n" % (
        m.group(1), _unparse(dep), _is_n(cond),
        " " + comment if comment else "")


COMPAT_STEPS = (
    CompatStep(
        "modules", "'modules' -> 'option modules'",
        "kconfiglib 14.1 predates Linux 5.13, which turned 'option modules' "
        "into a bare 'modules' attribute (kernel/module/Kconfig in 6.1). The "
        "staged copy spells it 'option modules', which kconfiglib understands "
        "with the same meaning.", _rewrite_modules),
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
        _rewrite_transitional),
    CompatStep(
        "conditional-depends", "'depends on X if Y' -> "
        "'depends on (X) || Y = n'",
        "'depends on X if Y' (newer than 6.12) constrains by X only when Y is "
        "not n. The staged copy writes the expression the kernel's parser "
        "builds for it (menu_add_dep: X || (Y = n), with '= n' pushed into Y "
        "the way expr_trans_compare does), which kconfiglib reads with the "
        "same meaning.", _rewrite_conditional_depends),
)

COMPAT_NAMES = tuple(step.name for step in COMPAT_STEPS)

COMPAT_NOTE = "\n".join("%s: %s" % (step.name, step.note)
                        for step in COMPAT_STEPS)

ARCHES = {
    # name: (ARCH, SRCARCH)
    "x86": ("x86", "x86"),
    "x86_64": ("x86_64", "x86"),
    "i386": ("i386", "x86"),
    "arm64": ("arm64", "arm64"),
}


@dataclasses.dataclass
class StagedTree:
    """A staged copy and what staging did to it."""

    root: str
    inserted_into: Optional[str]
    replaced_existing: bool
    compat_rewrites: List[Tuple[str, int]]
    #: step name -> (file, line) it rewrote, for the steps that applied
    compat_steps: Dict[str, List[Tuple[str, int]]] = dataclasses.field(
        default_factory=dict)


def _copy_kconfig_files(src, dest):
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        # kconfig's own test fixtures are not part of the tree.
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and
                       os.path.join(rel, d) != os.path.join("scripts", "kconfig", "tests")]
        wanted = [f for f in filenames if f.startswith("Kconfig")]
        if rel == "scripts" or rel.startswith("scripts" + os.sep):
            wanted = filenames
        if not wanted:
            continue
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
        for name in wanted:
            path = os.path.join(dirpath, name)
            if os.path.isfile(path):
                shutil.copy2(path, os.path.join(dest, rel, name))


def kconfig_state(tree):
    """A cheap token of ``tree``'s state: the modification times of the
    Kconfig files a snippet's neighbourhood is read from. Enough within one
    process (the CLI runs once; the tests lint unchanged trees again)."""
    return tuple(os.stat(os.path.join(tree, path)).st_mtime_ns
                 if os.path.exists(os.path.join(tree, path)) else None
                 for path in ("Kconfig", GPIO_KCONFIG,
                              os.path.join("drivers", "virtio", "Kconfig")))


def insert_snippet(text, snippet):
    """Return ``(new_text, replaced)``: ``snippet`` put where it belongs.

    An existing definition of the snippet's first symbol is replaced;
    otherwise the entry goes at the end of the "Virtual GPIO drivers"
    menu, else before the file's last ``endif`` (the GPIOLIB scope).
    """
    match = re.search(r"^(?:menu)?config\s+(\w+)", snippet, re.MULTILINE)
    if not match:
        raise StagingError("snippet defines no config symbol")
    symbol = match.group(1)
    block = snippet.rstrip("\n") + "\n\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines)
                  if re.match(r"(menu)?config\s+%s\s*$" % symbol, line)), None)
    if start is not None:
        end = start + 1
        while end < len(lines) and not _ENTRY_END.match(lines[end]):
            end += 1
        return "".join(lines[:start]) + block + "".join(lines[end:]), True
    menu = next((i for i, line in enumerate(lines)
                 if line.startswith('menu "Virtual GPIO drivers"')), None)
    if menu is not None:
        at = next(i for i in range(menu, len(lines))
                  if lines[i].startswith("endmenu"))
    else:
        endifs = [i for i, line in enumerate(lines) if line.startswith("endif")]
        at = endifs[-1] if endifs else len(lines)
    return "".join(lines[:at]) + block + "".join(lines[at:]), False


def compat_steps(names=None):
    """The steps called ``names`` (all when None), in COMPAT_STEPS order."""
    if names is None:
        return COMPAT_STEPS
    unknown = set(names) - set(COMPAT_NAMES)
    if unknown:
        raise StagingError("unknown compat step(s) %s (known: %s)"
                           % (", ".join(sorted(unknown)),
                              ", ".join(COMPAT_NAMES)))
    return tuple(step for step in COMPAT_STEPS if step.name in names)


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


def apply_compat_steps(root, steps=COMPAT_STEPS):
    """Apply ``steps`` to every Kconfig file under ``root``.

    Returns {step name: sorted [(file, line)]} for the steps that
    rewrote something.
    """
    edits = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            if not name.startswith("Kconfig"):
                continue
            path = os.path.join(dirpath, name)
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                lines = f.readlines()
            help_text = _help_lines(lines)
            changed = False
            for i, line in enumerate(lines):
                if i in help_text:
                    continue
                for step in steps:
                    new = step.rewrite(line)
                    if new is not None:
                        lines[i] = line = new
                        edits.setdefault(step.name, []).append(
                            (os.path.relpath(path, root), i + 1))
                        changed = True
            if changed:
                with open(path, "w", encoding="utf-8",
                          errors="surrogateescape") as f:
                    f.writelines(lines)
    return {name: sorted(found) for name, found in edits.items()}


def apply_compat(root, steps=COMPAT_STEPS):
    """The kconfiglib compatibility rewrites (see COMPAT_NOTE); returns
    every edit as a sorted list of (file, line)."""
    return sorted(edit for found in apply_compat_steps(root, steps).values()
                  for edit in found)


def stage(tree, dest, snippet=None, compat=True):
    """Stage ``tree`` into ``dest`` (which must not exist).

    ``compat``: True for every compatibility step, False for none, or the
    names of the steps to apply.
    """
    if not os.path.isfile(os.path.join(tree, "Kconfig")):
        raise StagingError("%s has no top-level Kconfig" % tree)
    _copy_kconfig_files(tree, dest)
    inserted, replaced = None, False
    if snippet is not None:
        target = os.path.join(dest, GPIO_KCONFIG)
        if not os.path.isfile(target):
            raise StagingError("%s has no %s" % (tree, GPIO_KCONFIG))
        with open(target, encoding="utf-8") as f:
            text, replaced = insert_snippet(f.read(), snippet)
        with open(target, "w", encoding="utf-8") as f:
            f.write(text)
        inserted = GPIO_KCONFIG
    if compat is True:
        steps = COMPAT_STEPS
    elif compat is False:
        steps = ()
    else:
        steps = compat_steps(compat)
    by_step = apply_compat_steps(dest, steps)
    edits = sorted(edit for found in by_step.values() for edit in found)
    return StagedTree(dest, inserted, replaced, edits, by_step)


def kconfig_env(root, arch):
    """Environment the kernel's Kconfig files expect (macros, $(ARCH))."""
    try:
        arch_name, srcarch = ARCHES[arch]
    except KeyError:
        raise StagingError("unknown arch %r (one of %s)"
                           % (arch, ", ".join(sorted(ARCHES)))) from None
    return {
        "srctree": root, "ARCH": arch_name, "SRCARCH": srcarch,
        "KERNELVERSION": "6.1", "CC": "gcc", "LD": "ld", "HOSTCC": "gcc",
        "HOSTCXX": "g++", "RUSTC": "rustc", "BINDGEN": "bindgen",
        "CLANG_FLAGS": "", "KCONFIG_WARN_UNDEF": "",
        # Newer trees read the pahole version from the environment, as the
        # top-level Makefile exports it, instead of running the script.
        "PAHOLE": "pahole", "PAHOLE_VERSION": _pahole_version(root),
    }


def _pahole_version(root):
    """What the tree's scripts/pahole-version.sh says ("0": no pahole)."""
    script = os.path.join(root, "scripts", "pahole-version.sh")
    if not os.path.isfile(script):
        return "0"
    out = subprocess.run(["sh", script, "pahole"], capture_output=True,
                         text=True).stdout.strip()
    return out or "0"


@contextlib.contextmanager
def _loops_recorded(record):
    """Let kconfiglib finish parsing a tree that has a dependency loop.

    kconfiglib has no public way to: it raises on the first loop, from
    its module-level helper _check_dep_loop_sym, at the very end of the
    parse. Only when a plain parse failed that way (see :func:`load`), that
    helper's exception is recorded instead (the first message is kept), so
    that :mod:`loops` can report the chain the way the kernel does and the
    other rules still run. kconfiglib is pinned; a version without the
    helper fails here, loudly, not silently.
    """
    original = getattr(kconfiglib, "_check_dep_loop_sym", None)
    if original is None:
        raise RuntimeError("kconfiglib %s has no _check_dep_loop_sym: the "
                           "lint cannot report loops with it"
                           % getattr(kconfiglib, "VERSION", "?"))

    def checked(sym, ignore_choice):
        try:
            return original(sym, ignore_choice)
        except kconfiglib.KconfigError as exc:
            if not record:
                record.append(str(exc))
            return None

    kconfiglib._check_dep_loop_sym = checked
    try:
        yield
    finally:
        kconfiglib._check_dep_loop_sym = original


@dataclasses.dataclass
class Parsed:
    """A parsed tree and the loop message kconfiglib would have raised."""

    kconf: kconfiglib.Kconfig
    kconfiglib_loop: Optional[str]


def load(root, arch, top="Kconfig"):
    """Parse a staged tree for ``arch`` into :class:`Parsed`.

    A plain kconfiglib parse first; only a tree with a dependency loop is
    parsed again, with the loop recorded instead of raised. Raises
    kconfiglib.KconfigError for anything else.
    """
    env = kconfig_env(root, arch)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    path = os.path.join(root, top)
    try:
        try:
            return Parsed(kconfiglib.Kconfig(path, warn_to_stderr=False),
                          None)
        except kconfiglib.KconfigError as exc:
            if not str(exc).lstrip().startswith("Dependency loop"):
                raise
        record = []
        with _loops_recorded(record):
            kconf = kconfiglib.Kconfig(path, warn_to_stderr=False)
        return Parsed(kconf, record[0] if record else None)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_LOCATION = re.compile(r"(\S+?):\d+\b")


def evaluated_warnings(parsed, root):
    """kconfiglib's warnings once every value is evaluated, as writing a
    config does (Zephyr's gate writes one to os.devnull for that): a dict
    from each warning's comparable form (line numbers and the staged
    tree's path left out, so that two stagings of a tree give the same
    keys) to its text. A tree with a dependency loop has no values to
    evaluate (kconfiglib would recurse forever): its parse warnings only.
    """
    kconf = parsed.kconf
    if parsed.kconfiglib_loop is None:
        # save_old=False: kconfiglib would otherwise rename the file it
        # writes to .old first, which, run as root, moves /dev/null away.
        kconf.write_config(os.devnull, save_old=False)
    found = {}
    for warning in kconf.warnings:
        text = warning.replace(root + os.sep, "").replace("\n", " ")
        found.setdefault(_LOCATION.sub(r"\1", text), text)
    return found
