"""The upstream series (upstream/) against the newest Debian Linux source:
each patch applies with git am in order, is what git format-patch writes
for it, builds with W=1 (the newest series' prepared headers, as vgpio.ko's
gates build) and passes that tree's checkpatch.pl --strict; its Fixes:
tags name the checked commits; the cover letter lists every patch. What
each patch fixes is shown end to end in
tests/e2e/test_e2e_uml_upstream_series.py."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from checkout import ROOT
from virtio_gpio.guests import kernels, linux_source, upstream_series

SERIES = os.path.join(ROOT, "upstream")


@pytest.fixture(scope="module")
def source():
    return linux_source.tree("newest")


@pytest.fixture(scope="module")
def kdir():
    return kernels.headers("newest", stream=sys.__stderr__)[0]


@pytest.fixture(scope="module")
def checked(source, kdir):
    return upstream_series.check(source, SERIES, kdir)


def test_every_patch_applies_builds_with_w1_and_passes_checkpatch(checked):
    problems, report = checked
    assert problems == []
    patches = upstream_series.patches(SERIES)
    assert len(report) == 1 + len(patches)
    assert report[0].startswith("every patch applies with git am")


def test_every_patch_is_one_fix_of_the_driver_with_a_fixes_tag():
    for patch in upstream_series.patches(SERIES):
        with open(patch, encoding="utf-8") as f:
            text = f.read()
        changed = re.findall(r"^diff --git a/(\S+) ", text, re.MULTILINE)
        assert changed == [upstream_series.DRIVER], (patch, changed)
        assert upstream_series.subject(patch).startswith("gpio: virtio: ")
        assert upstream_series.fixes_tags(patch), patch
        assert upstream_series.fixes_problems(patch) == []
        assert re.search(r"^Signed-off-by: .+ <.+@.+>$", text, re.MULTILINE)


def test_cover_letter_lists_every_patch():
    patches = upstream_series.patches(SERIES)
    with open(upstream_series.cover_letter(SERIES), encoding="utf-8") as f:
        cover = f.read()
    assert re.search(r"^Subject: \[PATCH 0/%d\] " % len(patches), cover,
                     re.MULTILINE)
    assert "*** SUBJECT HERE ***" not in cover
    assert "*** BLURB HERE ***" not in cover
    for n, patch in enumerate(patches, 1):
        assert re.search(r"^Subject: \[PATCH %d/%d\] " % (n, len(patches)),
                         open(patch, encoding="utf-8").read(), re.MULTILINE)
        assert "  " + upstream_series.subject(patch) + "\n" in cover, patch


def edit_first_line(patch, kind, suffix):
    """Append ``suffix`` to the first line of ``patch``'s hunks that starts
    with ``kind`` ("+" added, " " context) and a tab."""
    with open(patch, encoding="utf-8") as f:
        text = f.read()
    head, hunks = text.split("\n@@ ", 1)
    hunks = re.sub(r"^%s\t(.*)$" % re.escape(kind),
                   lambda m: kind + "\t" + m.group(1) + suffix, hunks,
                   count=1, flags=re.MULTILINE)
    with open(patch, "w", encoding="utf-8") as f:
        f.write(head + "\n@@ " + hunks)


def test_a_hand_edited_patch_is_found(source, tmp_path):
    edited = tmp_path / "series"
    shutil.copytree(SERIES, edited)
    last = upstream_series.patches(str(edited))[-1]
    # A line the patch adds, changed in the file: it still applies, but
    # its index line no longer names the blob git makes of it.
    edit_first_line(last, "+", " /* edited */")
    repo = upstream_series.apply(source, str(edited), str(tmp_path / "a"))
    assert upstream_series.export_differences(
        str(edited), repo, str(tmp_path / "a")) == [os.path.basename(last)]


def test_a_patch_that_does_not_apply_is_named(source, tmp_path):
    broken = tmp_path / "series"
    shutil.copytree(SERIES, broken)
    second = upstream_series.patches(str(broken))[1]
    # A context line of its first hunk that the tree does not have.
    edit_first_line(second, " ", " /* not here */")
    with pytest.raises(upstream_series.SeriesError,
                       match=re.escape(os.path.basename(second))):
        upstream_series.apply(source, str(broken), str(tmp_path / "b"))


def test_checkpatch_reports_an_unchecked_fixes_id(source, tmp_path):
    patch = upstream_series.patches(SERIES)[0]
    with open(patch, encoding="utf-8") as f:
        text = f.read()
    other = tmp_path / "other.patch"
    other.write_text(re.sub(r"^Fixes: [0-9a-f]{12} ",
                            "Fixes: 0123456789ab ", text, flags=re.MULTILINE),
                     encoding="utf-8")
    assert upstream_series.checkpatch(source, patch) == []
    assert [kind for kind, _ in upstream_series.checkpatch(
        source, str(other))] == ["UNKNOWN_COMMIT_ID"]
    assert upstream_series.fixes_problems(str(other))


def test_the_cli_says_what_it_checked(source, kdir):
    proc = subprocess.run(
        [sys.executable, "-m", "virtio_gpio.guests.upstream_series",
         "--series", SERIES, "--source", source, "--kdir", kdir],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("W=1 build, checkpatch --strict, Fixes: tags") \
        == len(upstream_series.patches(SERIES))
