"""Stage a Kconfig tree for linting: copy, insert the snippet, make it parse.

Staging never touches the source tree. It copies the Kconfig files (and
``scripts/``, which Kconfig.include runs), puts the snippet into
drivers/gpio/Kconfig where it belongs, and, for kconfiglib only, applies
the rewrites of :mod:`virtio_gpio.kconfig.kconfiglib_compat` to the copy.
The kernel's own conf reads the tree unchanged. :func:`load` then parses
the staged copy with kconfiglib.
"""

import contextlib
import dataclasses
import os
import re
import shutil
import subprocess
from typing import Dict, List, Optional, Tuple

import kconfiglib

from . import kconfiglib_compat

GPIO_KCONFIG = os.path.join("drivers", "gpio", "Kconfig")

# Lines that end a config entry (anything at column 0 that is a keyword).
_ENTRY_END = re.compile(
    r"^(config|menuconfig|choice|endchoice|menu|endmenu|if|endif|source|"
    r"comment|mainmenu)\b")


class StagingError(Exception):
    """The tree cannot be staged (missing files, bad snippet)."""


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
    try:
        if compat is True:
            steps = kconfiglib_compat.STEPS
        elif compat is False:
            steps = ()
        else:
            steps = kconfiglib_compat.select(compat)
        by_step = kconfiglib_compat.apply_by_step(dest, steps)
    except kconfiglib_compat.CompatError as exc:
        raise StagingError(str(exc)) from exc
    return StagedTree(dest, inserted, replaced,
                      kconfiglib_compat.every_edit(by_step), by_step)


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
