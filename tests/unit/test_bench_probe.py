"""make bench-probe's reading of the guest's lines: sizes by device
order, failed binds reported as refused, medians and ratios."""

import io

from virtio_gpio.guests import bench_probe

LINES = [
    "PROBE ours virtio0 rc=0 us=10000 kb=40 lines=8",
    "PROBE upstream virtio0 rc=0 us=5000 kb=56 lines=8",
    "PROBE ours virtio3 rc=0 us=4000000 kb=9000 lines=65535",
    # a bind that failed: no chip, whatever the time
    "PROBE upstream virtio3 rc=1 us=300 kb=0 lines=0",
    "PROBE-DMESG-BEGIN",
]


def test_sizes_follow_the_device_order_and_failures_are_kept():
    results = bench_probe.parse(LINES)
    assert results[("ours", 8)] == [(True, 10.0, 40)]
    assert results[("ours", 0xFFFF)] == [(True, 4000.0, 9000)]
    assert results[("upstream", 0xFFFF)] == [(False, 0.3, 0)]


def test_a_bind_that_did_not_give_the_chip_is_not_counted():
    # rc 0 but a chip of the wrong size is no success either
    results = bench_probe.parse(
        ["PROBE ours virtio1 rc=0 us=100 kb=1 lines=8"])
    assert results[("ours", 256)] == [(False, 0.1, 1)]


def test_report_gives_ratios_and_says_refused():
    out = io.StringIO()
    bench_probe.report(bench_probe.parse(LINES), 1, ["x: rejected (-12)"],
                       out=out)
    rows = {l.split()[0]: l.split() for l in out.getvalue().splitlines()
            if l[:1].isdigit()}
    assert rows["8"][1:4] == ["10.0", "5.0", "2.00"]
    assert rows["65535"][1:3] == ["4000.0", "refused"]
    assert rows["256"][1:3] == ["refused", "refused"]
    assert "  x: rejected (-12)" in out.getvalue()


def test_rounds_alternate_the_driver_that_goes_first():
    from virtio_gpio.guests import bench_uml
    script = bench_uml.alternating_rounds("measure", 3)
    assert script.splitlines()[0] == "for round in 1 2 3; do"
    odd, even = script.splitlines()[2].strip(), script.splitlines()[4].strip()
    assert odd == "measure ours vgpio; measure upstream gpio_virtio"
    assert even == "measure upstream gpio_virtio; measure ours vgpio"
