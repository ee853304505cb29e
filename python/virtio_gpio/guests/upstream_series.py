"""The patch series for mainline's gpio-virtio (the checkout's upstream/).

The series is a set of ``git format-patch`` files, a cover letter and one
patch per fix, against drivers/gpio/gpio-virtio.c of the newest Linux
source Debian carries (``tools/linux-source newest``). This module checks
it against that tree and builds Linux's driver with and without it:

* :func:`apply` takes the tree's gpio-virtio.c into a scratch git
  repository (same path, same bytes) and applies every patch with
  ``git am``, in order, one commit each;
* :func:`export` writes the applied commits out again with ``git
  format-patch``: a committed patch that :func:`apply` took and that does
  not come out the same was edited by hand after it was generated;
* :func:`build` builds a gpio-virtio.c out of tree with W=1 against a
  prepared kernel tree (the newest UML build);
* :func:`checkpatch` runs the tree's own ``scripts/checkpatch.pl
  --strict`` on a patch.

``python -m virtio_gpio.guests.upstream_series [--kdir KDIR]`` does all of
it for every patch and says what it found (exit status 1 when anything
fails). Standard library only.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

#: where the driver lives in a Linux tree, and in the scratch repository
DRIVER = os.path.join("drivers", "gpio", "gpio-virtio.c")

#: the upstream commits the series' Fixes: tags name, each checked by hand
#: against mainline's history (see the README's section on the series). A
#: Debian source tree has no git history, so checkpatch.pl cannot look
#: them up and says UNKNOWN_COMMIT_ID for each; only these ids may draw it.
FIXES = {
    "3a29355a22c0": "gpio: Add virtio-gpio driver",
    "eff5cdd745a6": "gpio: virtio: Add IRQ support",
    "3e4d9a485029": "gpio: virtio: remove timeout",
}

#: the identity git am commits with in the scratch repository (the
#: patches carry their own authors; a committer is needed all the same)
_COMMITTER = {"GIT_COMMITTER_NAME": "upstream-series check",
              "GIT_COMMITTER_EMAIL": "check@invalid",
              "GIT_AUTHOR_NAME": "upstream-series check",
              "GIT_AUTHOR_EMAIL": "check@invalid"}

_FIXES_TAG = re.compile(r'^Fixes: ([0-9a-f]{12}) \("(.*)"\)$', re.MULTILINE)


class SeriesError(RuntimeError):
    """A patch does not apply or the tree cannot be used; the message says
    which and carries git's or make's output."""


def cover_letter(series_dir):
    """The path of the series' cover letter (its 0000-*.patch)."""
    found = sorted(f for f in os.listdir(series_dir)
                   if f.startswith("0000-") and f.endswith(".patch"))
    if len(found) != 1:
        raise SeriesError("%s: %d cover letters (0000-*.patch), not one"
                          % (series_dir, len(found)))
    return os.path.join(series_dir, found[0])


def patches(series_dir):
    """The series' patches in order (NNNN-*.patch, the cover letter left
    out)."""
    found = sorted(os.path.join(series_dir, f) for f in os.listdir(series_dir)
                   if re.match(r"^\d{4}-.*\.patch$", f)
                   and not f.startswith("0000-"))
    if not found:
        raise SeriesError("%s holds no patch" % series_dir)
    return found


def subject(patch):
    """The subject of a format-patch file, without its [PATCH n/m]."""
    with open(patch, encoding="utf-8") as f:
        text = f.read()
    match = re.search(r"^Subject: (?:\[PATCH[^\]]*\] )?(.*(?:\n .*)*)$",
                      text, re.MULTILINE)
    if not match:
        raise SeriesError("%s has no Subject: line" % patch)
    return " ".join(match.group(1).split())


def fixes_tags(patch):
    """[(id, subject)] of the Fixes: tags of a patch."""
    with open(patch, encoding="utf-8") as f:
        return _FIXES_TAG.findall(f.read())


def _git(repo, *args, check=True):
    proc = subprocess.run(["git", "-C", repo] + list(args),
                          capture_output=True, text=True,
                          env=dict(os.environ, **_COMMITTER))
    if check and proc.returncode:
        raise SeriesError("git %s in %s failed:\n%s%s" % (
            " ".join(args), repo, proc.stdout, proc.stderr))
    return proc


def base_repo(linux_source, workdir):
    """A git repository at ``workdir``/linux holding the tree's
    gpio-virtio.c at its place, committed as the base."""
    repo = os.path.join(workdir, "linux")
    os.makedirs(os.path.join(repo, os.path.dirname(DRIVER)))
    shutil.copyfile(os.path.join(linux_source, DRIVER),
                    os.path.join(repo, DRIVER))
    _git(repo, "init", "-q")
    _git(repo, "add", DRIVER)
    _git(repo, "commit", "-q", "-m", "base: %s of %s" % (DRIVER,
                                                       linux_source))
    return repo


def apply(linux_source, series_dir, workdir):
    """Apply the series with ``git am`` to the tree's gpio-virtio.c in a
    scratch repository under ``workdir``; returns the repository.

    :raises SeriesError: naming the first patch that does not apply
    """
    repo = base_repo(linux_source, workdir)
    for patch in patches(series_dir):
        proc = _git(repo, "am", "-q", "--keep-cr", os.path.abspath(patch),
                    check=False)
        if proc.returncode:
            _git(repo, "am", "--abort", check=False)
            raise SeriesError("%s does not apply with git am to %s:\n%s%s"
                              % (os.path.basename(patch), linux_source,
                                 proc.stdout, proc.stderr))
    return repo


def patched_driver(repo):
    """The gpio-virtio.c of a repository :func:`apply` made."""
    return os.path.join(repo, DRIVER)


def export(repo, outdir):
    """``git format-patch`` of the applied commits into ``outdir``, as the
    series was generated: one file per commit, no commit ids."""
    count = len(_git(repo, "rev-list", "HEAD").stdout.split()) - 1
    _git(repo, "format-patch", "-q", "--zero-commit", "-o", outdir,
         "HEAD~%d" % count)
    return sorted(os.path.join(outdir, f) for f in os.listdir(outdir))


def _body(patch):
    """A patch file without its version trailer (the git that wrote it)."""
    with open(patch, encoding="utf-8") as f:
        text = f.read()
    return re.sub(r"\n-- \n[^\n]*\n*$", "\n", text)


def export_differences(series_dir, repo, workdir):
    """The committed patches that ``git format-patch`` of the applied
    series does not reproduce byte for byte (the trailing git version
    aside): names, empty when every one comes out the same."""
    out = export(repo, os.path.join(workdir, "export"))
    committed = patches(series_dir)
    if len(out) != len(committed):
        return ["%d patches committed, %d exported"
                % (len(committed), len(out))]
    return [os.path.basename(mine) for mine, again in zip(committed, out)
            if _body(mine) != _body(again)]


#: the name :func:`build` gives its ``include`` header in the build
#: directory
INCLUDED = "included-first.h"


def build(kdir, source, workdir, arch=None, include=None):
    """Build ``source`` (a gpio-virtio.c) out of tree with W=1 against the
    prepared tree ``kdir``; ``include`` is a header given to the compiler
    first (``-include``), from a copy beside the source, so any path will
    do. Returns (path of gpio-virtio.ko, build log).

    :raises SeriesError: when it does not build
    """
    src = os.path.join(workdir, "build")
    os.makedirs(src)
    shutil.copyfile(source, os.path.join(src, "gpio-virtio.c"))
    with open(os.path.join(src, "Kbuild"), "w") as f:
        f.write("obj-m := gpio-virtio.o\n")
        if include:
            # Copied beside the source under a name of ours: the header's
            # own path may hold a space, '#' or '$', which make and the
            # shell behind kbuild's command lines and .cmd files would each
            # take apart.
            shutil.copyfile(include, os.path.join(src, INCLUDED))
            f.write("ccflags-y += -include $(src)/%s\n" % INCLUDED)
    cmd = ["make", "-C", kdir, "M=" + os.path.abspath(src), "W=1"]
    if arch:
        cmd.append("ARCH=" + arch)
    proc = subprocess.run(cmd + ["modules"], capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    if proc.returncode:
        raise SeriesError("building %s failed:\n%s" % (source, log))
    return os.path.join(src, "gpio-virtio.ko"), log


#: compiler and modpost diagnostics
DIAGNOSTIC = re.compile(r"\b(warning|error)\b", re.IGNORECASE)


def diagnostics(log):
    """The lines of a build log that are diagnostics."""
    return [line for line in log.splitlines() if DIAGNOSTIC.search(line)]


def checkpatch(linux_source, patch):
    """Run the tree's ``scripts/checkpatch.pl --strict`` on ``patch``.

    :returns: [(type, message)] of what it reports, the UNKNOWN_COMMIT_ID
        of a Fixes: id listed in :data:`FIXES` left out (the tree has no
        git history to find it in)
    """
    proc = subprocess.run(
        ["perl", os.path.join(linux_source, "scripts", "checkpatch.pl"),
         "--strict", "--show-types", "--no-color", os.path.abspath(patch)],
        cwd=linux_source, capture_output=True, text=True)
    found = re.findall(r"^(?:WARNING|ERROR|CHECK):([A-Z_]+): (.*)$",
                       proc.stdout, re.MULTILINE)
    problems = [(kind, message) for kind, message in found
                if not (kind == "UNKNOWN_COMMIT_ID" and re.fullmatch(
                    r"Unknown commit id '(%s)', maybe rebased or not "
                    r"pulled\?" % "|".join(FIXES), message))]
    if proc.returncode and not found:
        problems.append(("CHECKPATCH", proc.stdout + proc.stderr))
    return problems


def fixes_problems(patch):
    """Fixes: tags naming a commit not in :data:`FIXES`, or with a subject
    other than that commit's."""
    return ["%s: Fixes: %s (%r) is not a checked commit%s" % (
        os.path.basename(patch), commit, title,
        "" if commit not in FIXES else " subject (%r)" % FIXES[commit])
        for commit, title in fixes_tags(patch)
        if FIXES.get(commit) != title]


def check(linux_source, series_dir, kdir, arch=None):
    """Every check of the series; returns the problems found (empty when
    the series is fine) and a line per patch saying what was checked."""
    report, problems = [], []
    with tempfile.TemporaryDirectory(prefix="upstream-series-") as work:
        try:
            repo = apply(linux_source, series_dir, work)
        except SeriesError as exc:
            return [str(exc)], report
        report.append("every patch applies with git am to %s"
                      % os.path.join(linux_source, DRIVER))
        problems += ["%s is not what git format-patch writes for it" % name
                     for name in export_differences(series_dir, repo, work)]
        base = base_repo(linux_source, os.path.join(work, "steps"))
        for n, patch in enumerate(patches(series_dir), 1):
            name = os.path.basename(patch)
            _git(base, "am", "-q", os.path.abspath(patch))
            try:
                _, log = build(kdir, patched_driver(base),
                               os.path.join(work, "build-%d" % n), arch)
            except SeriesError as exc:
                problems.append("%s: %s" % (name, exc))
                continue
            problems += ["%s: W=1: %s" % (name, line)
                         for line in diagnostics(log)]
            problems += ["%s: checkpatch --strict: %s: %s" % (name, kind, msg)
                         for kind, msg in checkpatch(linux_source, patch)]
            problems += fixes_problems(patch)
            report.append("%s: W=1 build, checkpatch --strict, Fixes: tags"
                          % name)
    return problems, report


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m virtio_gpio.guests.upstream_series",
        description="Check the checkout's upstream/ patch series against "
        "the newest Debian Linux source: each patch applies with git am, "
        "builds with W=1 and passes the tree's checkpatch.pl --strict.")
    parser.add_argument("--series", default="upstream",
                        help="the series' directory (default: upstream)")
    parser.add_argument("--source", help="the Linux tree (default: "
                        "tools/linux-source newest)")
    parser.add_argument("--kdir", required=True,
                        help="a prepared kernel tree of that series to "
                        "build against (python -m virtio_gpio.guests.kernels "
                        "headers newest prints one)")
    parser.add_argument("--arch",
                        help="ARCH of --kdir when it is not the host's "
                        "(um for a UML build)")
    args = parser.parse_args(argv)
    source = args.source
    if not source:
        from . import linux_source
        source = linux_source.tree("newest")
    problems, report = check(source, args.series, args.kdir, args.arch)
    for line in report:
        print(line)
    for line in problems:
        print("PROBLEM: " + line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
