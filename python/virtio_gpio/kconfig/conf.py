"""A second opinion from the kernel's own kconfig ``conf`` tool.

Debian ships it in linux-kbuild-6.1. It reads the staged tree unchanged
(no compatibility rewrite) and answers two questions: does the tree have
a recursive dependency, and what value does a symbol really get when a
.config asks for m or y.
"""

import os
import re
import subprocess
import tempfile

from . import tree

DEFAULT_CONF = "/usr/lib/linux-kbuild-6.1/scripts/kconfig/conf"


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
