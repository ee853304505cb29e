"""The libFuzzer gate of the core: `make fuzz` with a short budget.

Each harness (tests/fuzz/) is built with clang's -fsanitize=fuzzer,
address,undefined and run for FUZZ_SECONDS from the seed corpus in the
repository; any crash, sanitizer report or broken invariant fails. The
gate proves it can fail: a build with a planted heap overflow, reachable
only once an interrupt fires on line 1, must be caught by the same
target, both from a known input and by the fuzzer searching on its own.
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from checkout import ROOT as CHECKOUT

ROOT = pathlib.Path(CHECKOUT)
FUZZ = ROOT / "tests" / "fuzz"
HARNESSES = ("probe", "stream")
SECONDS = int(os.environ.get("VGPIO_FUZZ_SECONDS", "20"))


def make(*args, timeout):
    """`make` in the repository; returns the CompletedProcess."""
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep
               + os.environ["PATH"])
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True,
                          timeout=timeout)


def final_stat(output, name):
    match = re.search(r"^stat::%s:\s+(\d+)$" % name, output, re.M)
    assert match, "no %s in libFuzzer's output:\n%s" % (name, output[-3000:])
    return int(match.group(1))


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    """The harnesses, built once, warning-free (-Wall -Wextra -Werror)."""
    assert shutil.which("clang"), "clang (with libFuzzer) is not installed"
    out = tmp_path_factory.mktemp("fuzz")
    proc = make("fuzz-build", "FUZZ_DIR=%s" % out, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "warning" not in proc.stderr, proc.stderr
    return out


@pytest.fixture(scope="module")
def planted_dir(tmp_path_factory):
    """The same harnesses with FUZZ_PLANTED_BUG: an overflow in fuzz_irq."""
    out = tmp_path_factory.mktemp("fuzz-planted")
    proc = make("fuzz-build", "FUZZ_DIR=%s" % out,
                "FUZZ_CFLAGS=-DFUZZ_PLANTED_BUG", timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.mark.parametrize("harness", HARNESSES)
def test_short_fuzz_run_finds_nothing(fuzz_dir, harness):
    proc = make("fuzz", "FUZZ_DIR=%s" % fuzz_dir, "FUZZ_HARNESSES=%s" % harness,
                "FUZZ_SECONDS=%d" % SECONDS, timeout=SECONDS * 6 + 120)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert not list((fuzz_dir / "findings").iterdir()), output[-6000:]
    # It really ran: the whole seed corpus, then many mutations of it.
    seeds = len(list((FUZZ / "corpus" / harness).iterdir()))
    assert final_stat(output, "number_of_executed_units") > seeds + 1000
    assert "INITED cov:" in output


def test_seed_corpus_is_what_make_corpus_writes(tmp_path):
    subprocess.run([sys.executable, str(FUZZ / "make_corpus.py"), "--out",
                    str(tmp_path)], check=True, timeout=60)
    for harness in HARNESSES:
        kept = {p.name: p.read_bytes() for p in (FUZZ / "corpus" / harness).iterdir()}
        made = {p.name: p.read_bytes() for p in (tmp_path / harness).iterdir()}
        assert kept == made, "run tests/fuzz/make_corpus.py and commit"
        assert len(kept) >= 30


def planted_input(tmp_path):
    """std-watch-fires on line 1 instead of 0: the planted bug's trigger."""
    seed = next((FUZZ / "corpus" / "stream").glob("std-watch-fires-*"))
    data = bytearray(seed.read_bytes())
    assert data[:2] == bytes([3, 1])            # standard + irq, 2 lines
    assert data[4:6] == bytes([5, 0])           # STEP_WATCH, line 0
    data[5] = 1
    path = tmp_path / "fires-on-line-1"
    path.write_bytes(bytes(data))
    return path


def test_planted_bug_input_aborts(planted_dir, fuzz_dir, tmp_path):
    crash = planted_input(tmp_path)
    # The clean build passes the input: the abort is the planted bug's.
    clean = subprocess.run([str(fuzz_dir / "fuzz_stream"), str(crash)],
                           capture_output=True, text=True, timeout=60)
    assert clean.returncode == 0, clean.stderr[-3000:]
    proc = subprocess.run([str(planted_dir / "fuzz_stream"), str(crash)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "AddressSanitizer: heap-buffer-overflow" in proc.stderr
    assert "fuzz_irq" in proc.stderr


def test_gate_fails_when_the_fuzzer_finds_the_planted_bug(planted_dir):
    """make fuzz on its own, from the seeds, finds it and exits non-zero."""
    shutil.rmtree(planted_dir / "findings", ignore_errors=True)
    proc = make("fuzz", "FUZZ_DIR=%s" % planted_dir, "FUZZ_HARNESSES=stream",
                "FUZZ_SECONDS=300", timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    assert "AddressSanitizer: heap-buffer-overflow" in output
    findings = list((planted_dir / "findings").iterdir())
    assert [p.name for p in findings if p.name.startswith("stream-crash-")]
