"""`make bench-backend`, short: our backend against the C responder.

The responder is built by the Makefile's own rule (warning-free, -Werror)
and must be a device the conformance kit passes, or the ratio would
compare our backend with something that does less. The bench then runs
2 rounds of 50 operations: both sides must answer every operation
correctly (the bench checks each answer) and every ratio must be a
finite positive number. How large it is, is never checked here: that is
for `make bench` on a quiet machine.
"""

import io
import math
import os
import pathlib
import subprocess
import sys

import pytest

from checkout import ROOT as CHECKOUT
from virtio_gpio.conformance import bench_backend
from virtio_gpio.conformance.device_checker import check_device
from virtio_gpio.conformance.results import FAIL

ROOT = pathlib.Path(CHECKOUT)


@pytest.fixture(scope="module")
def responder(tmp_path_factory):
    out = tmp_path_factory.mktemp("responder") / "vgpio-responder"
    proc = subprocess.run(
        ["make", "--no-print-directory", "RESPONDER=%s" % out, str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "warning" not in proc.stderr, proc.stderr
    return str(out)


def test_the_responder_is_a_conformant_device(responder, tmp_path):
    sock, ctl = str(tmp_path / "c.sock"), str(tmp_path / "c.ctl")
    proc = subprocess.Popen([responder, "-s", sock, "--control", ctl],
                            stderr=subprocess.PIPE, text=True)
    try:
        bench_backend._wait_for([sock, ctl], proc, responder)
        rows = check_device(sock, control=ctl, timeout=2.0).rows()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    failed = [row for row in rows if row.verdict == FAIL]
    assert not failed, failed
    assert proc.returncode == 0, err
    assert not os.path.exists(sock) and not os.path.exists(ctl)


def test_a_short_bench_answers_right_and_gives_finite_ratios(responder,
                                                              tmp_path):
    with bench_backend.sides(responder, str(tmp_path)) as (ours, theirs):
        bench_backend.bench(ours, theirs, rounds=2, ops=50, warmup=5)
        out = io.StringIO()
        bench_backend.report(ours, theirs, 2, 50, out=out)
        for side in (ours, theirs):
            for op in bench_backend.OPERATIONS:
                assert [len(r.latencies) for r in side.rounds[op]] == [50, 50]
        for op in bench_backend.OPERATIONS:
            for measure, ratio in bench_backend.ratios(ours, theirs,
                                                       op).items():
                assert len(ratio.values) == 2
                assert all(math.isfinite(v) and v > 0
                           for v in ratio.values), (op, measure, ratio)
    report = out.getvalue()
    assert "ratio ours/C" in report
    for op in bench_backend.OPERATIONS:
        assert "\n  %-4s " % op in report


def test_the_command_line_runs_and_prints_the_ratios(responder):
    proc = subprocess.run(
        [sys.executable, "-m", "virtio_gpio.conformance.bench_backend",
         "--responder", responder, "--rounds", "2", "--ops", "20"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pinned to CPU" in proc.stdout
    assert "ratio ours/C" in proc.stdout, proc.stdout
