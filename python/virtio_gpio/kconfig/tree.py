"""Stage a Kconfig tree for linting: copy, insert the snippet, make it parse.

Staging never touches the source tree. It copies the Kconfig files (and
``scripts/``, which Kconfig.include runs), puts the snippet into
drivers/gpio/Kconfig where it belongs, and, for kconfiglib only, applies
one compatibility rewrite described in ``COMPAT_NOTE``.
"""

import contextlib
import dataclasses
import os
import re
import shutil
from typing import List, Optional, Tuple

import kconfiglib

GPIO_KCONFIG = os.path.join("drivers", "gpio", "Kconfig")

COMPAT_NOTE = (
    "kconfiglib 14.1 predates Linux 5.13, which turned 'option modules' into "
    "a bare 'modules' attribute (kernel/module/Kconfig in 6.1). The staged "
    "copy spells it 'option modules', which kconfiglib understands with the "
    "same meaning; the kernel's own conf tool reads the tree unchanged.")

# A line holding only the attribute, indented like any other attribute.
_BARE_MODULES = re.compile(r"^(\s+)modules\s*$")

# Lines that end a config entry (anything at column 0 that is a keyword).
_ENTRY_END = re.compile(
    r"^(config|menuconfig|choice|endchoice|menu|endmenu|if|endif|source|"
    r"comment|mainmenu)\b")

ARCHES = {
    # name: (ARCH, SRCARCH)
    "x86": ("x86", "x86"),
    "x86_64": ("x86_64", "x86"),
    "i386": ("i386", "x86"),
    "arm64": ("arm64", "arm64"),
}


class StagingError(Exception):
    """The tree cannot be staged (missing files, bad snippet)."""


@dataclasses.dataclass
class StagedTree:
    """A staged copy and what staging did to it."""

    root: str
    inserted_into: Optional[str]
    replaced_existing: bool
    compat_rewrites: List[Tuple[str, int]]


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


def apply_compat(root):
    """The kconfiglib compatibility rewrite (see COMPAT_NOTE); returns edits."""
    edits = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            if not name.startswith("Kconfig"):
                continue
            path = os.path.join(dirpath, name)
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                lines = f.readlines()
            changed = False
            for i, line in enumerate(lines):
                m = _BARE_MODULES.match(line)
                if m:
                    lines[i] = m.group(1) + "option modules\n"
                    edits.append((os.path.relpath(path, root), i + 1))
                    changed = True
            if changed:
                with open(path, "w", encoding="utf-8",
                          errors="surrogateescape") as f:
                    f.writelines(lines)
    return sorted(edits)


def stage(tree, dest, snippet=None, compat=True):
    """Stage ``tree`` into ``dest`` (which must not exist)."""
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
    edits = apply_compat(dest) if compat else []
    return StagedTree(dest, inserted, replaced, edits)


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
    }


@contextlib.contextmanager
def _loops_recorded(record):
    """Let kconfiglib finish parsing a tree that has a dependency loop.

    kconfiglib raises on the first loop, from its module-level helper
    _check_dep_loop_sym, and loses whether each step was a 'depends on' or
    a 'select'. While loading, that helper's exception is recorded instead
    (the first message is kept), and :mod:`loops` reports the chain the way
    the kernel does.
    """
    original = kconfiglib._check_dep_loop_sym

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

    Raises kconfiglib.KconfigError for anything but a dependency loop.
    """
    env = kconfig_env(root, arch)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    record = []
    try:
        with _loops_recorded(record):
            kconf = kconfiglib.Kconfig(os.path.join(root, top),
                                       warn_to_stderr=False)
        return Parsed(kconf, record[0] if record else None)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
