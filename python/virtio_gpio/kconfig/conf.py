"""A second opinion from the kernel's own kconfig ``conf`` tool.

conf is built from the linted tree's own scripts/kconfig (``for_tree()``),
because each kernel series' parser knows that series' syntax; a fixture
tree without scripts/kconfig uses Debian's linux-kbuild-6.1 conf. conf reads
the staged tree unchanged (no compatibility rewrite) and answers two
questions: does the tree have a recursive dependency, and what value does a
symbol really get when a .config asks for m or y.
"""

import hashlib
import os
import re
import shutil
import subprocess
import tempfile

from ..cache import cache_root
from . import tree

DEFAULT_CONF = "/usr/lib/linux-kbuild-6.1/scripts/kconfig/conf"

# What scripts/kconfig/Makefile generates with flex and bison (Makefile.host
# rules %.lex.c and %.tab.c) rather than compiling from the tree.
_GENERATED = {"lexer.lex": ("flex", "lexer.l"),
              "parser.tab": ("bison", "parser.y")}


class ConfError(Exception):
    """conf could not run or read the tree."""


def _run(conf, root, arch, config_text):
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, ".config")
        with open(config, "w") as f:
            f.write(config_text)
        env = dict(os.environ)
        env.update(tree.kconfig_env(root, arch))
        env["KCONFIG_CONFIG"] = config
        proc = subprocess.run([conf, "--olddefconfig", "Kconfig"], cwd=root,
                              env=env, capture_output=True, text=True)
        with open(config) as f:
            result = f.read()
    return proc, result


def values(config_text):
    """{NAME: "y"|"m"|"n"|str} of a .config's symbols."""
    found = {}
    for line in config_text.splitlines():
        m = re.match(r"CONFIG_(\w+)=(.*)$", line)
        if m:
            found[m.group(1)] = m.group(2)
        m = re.match(r"# CONFIG_(\w+) is not set$", line)
        if m:
            found[m.group(1)] = "n"
    return found


def recursive_dependencies(root, arch, conf=DEFAULT_CONF):
    """The 'recursive dependency detected' report of conf, as lines."""
    proc, _ = _run(conf, root, arch, "")
    if proc.returncode != 0 and "recursive dependency" not in proc.stderr:
        raise ConfError(proc.stderr.strip() or proc.stdout.strip())
    lines = proc.stderr.splitlines()
    return [line for line in lines if "recursive dependency" in line or
            re.search(r"symbol \w+ (depends on|is selected by|is implied by)",
                      line)]


def reachable(root, arch, config_path, name, conf=DEFAULT_CONF):
    """{"m": bool, "y": bool}: does conf keep NAME at the value asked for."""
    with open(config_path) as f:
        base = f.read()
    answer = {}
    for want in ("m", "y"):
        proc, result = _run(conf, root, arch,
                            base + "\nCONFIG_%s=%s\n" % (name, want))
        if proc.returncode != 0:
            raise ConfError(proc.stderr.strip())
        answer[want] = values(result).get(name) == want
    return answer


def _conf_objects(makefile):
    """conf's object names (without .o) as scripts/kconfig/Makefile lists
    them: ``conf-objs := conf.o $(common-objs)``."""
    with open(makefile) as f:
        text = f.read().replace("\\\n", " ")
    found = dict(re.findall(r"^([\w-]+)\s*:=\s*(.*)$", text, re.MULTILINE))
    if "conf-objs" not in found:
        raise ConfError("%s has no conf-objs" % makefile)
    names = []
    for word in found["conf-objs"].split():
        ref = re.match(r"\$\(([\w-]+)\)$", word)
        names += found.get(ref.group(1), "").split() if ref else [word]
    return [name[:-2] for name in names if name.endswith(".o")]


def _sources_digest(src, include):
    digest = hashlib.sha256()
    for folder in (src, include):
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if os.path.isfile(path) and (
                    name == "Makefile" or name.endswith((".c", ".h", ".l", ".y"))):
                digest.update(name.encode() + b"\0")
                with open(path, "rb") as f:
                    digest.update(f.read())
    return digest.hexdigest()[:16]


def for_tree(kernel_tree):
    """The conf binary for ``kernel_tree``: built from its scripts/kconfig,
    or DEFAULT_CONF when the tree has none (a fixture)."""
    if os.path.isfile(os.path.join(kernel_tree, "scripts", "kconfig",
                                   "Makefile")):
        return build(kernel_tree)
    return DEFAULT_CONF


def build(kernel_tree):
    """Build conf from ``kernel_tree``'s scripts/kconfig, once per tree.

    The binary is cached under the build cache, keyed by the tree's name
    and a digest of the kconfig sources, so a tree that changes gets a new
    conf. The build reads the tree and never writes into it.
    """
    from .. import progress
    src = os.path.join(kernel_tree, "scripts", "kconfig")
    include = os.path.join(kernel_tree, "scripts", "include")
    key = "%s-%s" % (os.path.basename(os.path.normpath(kernel_tree)),
                     _sources_digest(src, include))
    out = os.path.join(cache_root(), "kconfig-conf", key)
    binary = os.path.join(out, "conf")
    if os.path.isfile(binary):
        return binary
    os.makedirs(os.path.dirname(out), exist_ok=True)
    work = tempfile.mkdtemp(prefix=".%s." % key, dir=os.path.dirname(out))
    log = os.path.join(work, "build.log")
    stage = "conf from %s" % key
    sources = []
    for name in _conf_objects(os.path.join(src, "Makefile")):
        if name in _GENERATED:
            tool, grammar = _GENERATED[name]
            generated = os.path.join(work, name + ".c")
            # The same command lines as scripts/Makefile.host.
            cmd = (["flex", "-o" + generated, "-L"] if tool == "flex" else
                   ["bison", "-o", generated,
                    "--defines=" + generated[:-2] + ".h", "-t", "-l"])
            progress.run(cmd + [os.path.join(src, grammar)], log,
                         "%s: %s" % (stage, tool))
            sources.append(generated)
        else:
            sources.append(os.path.join(src, name + ".c"))
    # The generated lexer includes parser.tab.h from the work folder.
    progress.run(["gcc", "-O2", "-I", work, "-I", src]
                 + (["-I", include] if os.path.isdir(include) else [])
                 + ["-o", os.path.join(work, "conf")] + sources, log,
                 "%s: compile" % stage)
    try:
        os.rename(work, out)
    except OSError:
        # Another run built the same tree's conf first; use that one.
        shutil.rmtree(work, ignore_errors=True)
    return binary
