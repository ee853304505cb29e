"""``make bench``, guest part: our module against Linux's gpio-virtio.

One UML guest, one vhost-user backend (standard protocol, device ID 41,
interrupts negotiated), one host. The guest loads our vgpio.ko and Linux's
gpio-virtio.ko in turn (the order alternates per round, so drift hits both
alike) and times, from a program using the GPIO character device directly
(tools/guest/gpio-probe.c): get, set and direction_output round trips, and
the edge latency of a line the device loops back (drive line 0, wake on
the edge of line 1). Then the backend switches to a no-op handler that
answers every request at once without the device model: that get round
trip is the floor, what the guest, UML and the vhost-user path cost
before any driver or device logic.

The UML kernel is built from the tree --linux-source names (make bench:
the newest series Debian carries, so the guest boots on any x86 host and
Linux's gpio-virtio is that series' own), with that series' patches from
--uml-patches. Both drivers are built from it as well.

UML rather than QEMU: QEMU 7.2's vhost-user-gpio never offers
VIRTIO_GPIO_F_IRQ, so edges could not be timed there. Only ratios mean
something; absolute figures depend on the machine.
"""

import argparse
import os
import shlex
import statistics
import sys

from ..vhost_user.control import send_control, spawn
from . import bench_uml, drivers, uml

OPS = ("get", "set", "dirout", "loop")
LABELS = {"get": "get", "set": "set", "dirout": "direction_output",
          "loop": "edge (loop-back)"}

INIT = """#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
D=%(dir)s
P="$D/gpio-probe"
mount -t proc proc /proc
mount -t sysfs sysfs /sys
measure() {
	insmod "$D/$1.ko" || { echo "BENCH-FAIL insmod $1"; return; }
	C=$(ls /dev/gpiochip* | tail -n 1)
	echo "BENCH $1 get $($P $C get 2 %(ops)d)"
	echo "BENCH $1 set $($P $C set 3 %(ops)d)"
	echo "BENCH $1 dirout $($P $C dirout 3 %(ops)d)"
	s0=$(sed -n 's/^ctxt //p' /proc/stat)
	echo "BENCH $1 loop $($P $C loop 0 %(edges)d)"
	echo "SWITCHES $1 $(( $(sed -n 's/^ctxt //p' /proc/stat) - s0 ))"
	rmmod "$2"
}
floor() {
	insmod "$D/$1.ko" || { echo "BENCH-FAIL insmod $1"; return; }
	C=$(ls /dev/gpiochip* | tail -n 1)
	echo "FLOOR $1 get $($P $C get 2 %(ops)d)"
	rmmod "$2"
}
%(measure_rounds)s
echo "FLOOR-READY"
while [ ! -e "$D/noop-on" ]; do sleep 0.1; done
for round in %(rounds)s; do
	floor ours %(ours)s; floor upstream %(upstream)s
done
echo "BENCH-DMESG-BEGIN"
dmesg --color=never | grep -E "vgpio|gpio.virtio|BUG|WARNING" || true
echo "BENCH-DONE"
/bin/busybox poweroff -f
"""


def _parse(line):
    """'BENCH drv op median p99 ops [lost]' -> (drv, op, (median, p99, ops, lost))."""
    fields = line.split()
    if len(fields) not in (6, 7):
        raise RuntimeError("guest measurement failed: %r" % line)
    values = [float(x) for x in fields[3:]] + [0.0]
    return fields[1], fields[2], tuple(values[:4])


def run_guest(args, work):
    """Boot the guest, collect every measurement line; returns the lines."""
    kernel = bench_uml.kernel_and_drivers(args, work)
    drivers.build_gpio_probe(args.probe_src, os.path.join(work, "gpio-probe"))
    init = os.path.join(work, "init.sh")
    with open(init, "w") as f:
        f.write(INIT % dict(
            drivers.MODULE_NAMES, dir=shlex.quote(work), ops=args.ops, edges=args.edges,
            measure_rounds=bench_uml.alternating_rounds("measure",
                                                        args.rounds),
            rounds=" ".join(str(r) for r in range(1, args.rounds + 1))))
    os.chmod(init, 0o755)

    sock, ctl = os.path.join(work, "gpio.sock"), os.path.join(work, "gpio.ctl")
    log = open(os.path.join(work, "backend.log"), "w")
    backend = spawn(sock, ctl, [
        "--protocol", "standard", "--lines", "8", "--loopback", "0:1",
        "--once"], log)
    try:
        guest = uml.Guest(kernel, init, [sock], device_id=41, memory="256M",
                          log_path=os.path.join(work, "guest.log"))
        try:
            guest.expect("FLOOR-READY", timeout=args.timeout)
            send_control(ctl, {"cmd": "noop", "on": True})
            open(os.path.join(work, "noop-on"), "w").close()
            guest.expect("BENCH-DONE", timeout=args.timeout)
            guest.wait(60)
        finally:
            guest.kill()
    finally:
        if backend.poll() is None:
            backend.kill()
        backend.wait()
        log.close()
    bad = [l for l in guest.lines if l.startswith("BENCH-FAIL") or
           any(w in l for w in ("BUG", "WARNING", "Oops"))]
    if bad:
        raise RuntimeError("guest reported problems: %s" % bad)
    return guest.lines


def summarise(lines, rounds):
    """{op: {driver: [(median, p99, ops), ...]}}, the floors, and
    {driver: [context switches of a loop-back run, ...]}."""
    table = {op: {"ours": [], "upstream": []} for op in OPS}
    floor = {}
    switches = {"ours": [], "upstream": []}
    for line in lines:
        if line.startswith("SWITCHES "):
            _, driver, count = line.split()
            switches[driver].append(int(count))
        elif line.startswith("BENCH ") and len(line.split()) >= 3:
            driver, op, values = _parse(line)
            table[op][driver].append(values)
        elif line.startswith("FLOOR "):
            driver, _, values = _parse(line)
            floor.setdefault(driver, []).append(values)
    for op in OPS:
        for driver in ("ours", "upstream"):
            if len(table[op][driver]) != rounds:
                raise RuntimeError("%s/%s: %d of %d rounds measured"
                                   % (driver, op, len(table[op][driver]), rounds))
    return table, floor, switches


def _paired(ours, upstream, index):
    """Per-round ours/upstream ratios of one figure: (median, low, high).

    Rounds pair up (same boot, back to back), so slow phases of the host
    hit both drivers of a round alike; the spread of the paired ratios
    is the noise the verdict must beat.
    """
    ratios = sorted(o[index] / u[index] for o, u in zip(ours, upstream))
    return statistics.median(ratios), ratios[0], ratios[-1]


def _verdict(low, high, faster_below_one):
    if low <= 1.0 <= high:
        return "within noise"
    ours_faster = (high < 1.0) == faster_below_one
    return "ours faster" if ours_faster else "ours slower"


def report(table, floor, switches, args, out=sys.stdout):
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p("UML kernel: linux-source-%s %s" % (uml.tree_series(args.linux_source),
                                          uml.source_version(args.linux_source)))
    p("Standard protocol (ID 41), one UML guest, one backend, one host;")
    p("%d rounds x %d ops (%d edges), driver order alternating per round."
      % (args.rounds, args.ops, args.edges))
    p("Ratios are ours/upstream per round (median [lowest..highest] of the"
      " %d rounds):" % args.rounds)
    p("latency ratio < 1 and ops/s ratio > 1 mean ours is faster; a range"
      " that spans 1.0 is no measurable difference.")
    p("")
    p("%-17s %9s %9s  %-24s %-24s %-24s" % (
        "operation", "ours med", "upstr med", "median latency ratio",
        "p99 latency ratio", "ops/s ratio"))
    for op in OPS:
        ours, up = table[op]["ours"], table[op]["upstream"]
        med = _paired(ours, up, 0)
        p99 = _paired(ours, up, 1)
        ops = _paired(ours, up, 2)
        p("%-17s %7.0fus %7.0fus  %5.3f [%5.3f..%5.3f]    %5.3f [%5.3f..%5.3f]    "
          "%5.3f [%5.3f..%5.3f]  %s" % (
              LABELS[op], statistics.median(v[0] for v in ours),
              statistics.median(v[0] for v in up), *med, *p99, *ops,
              _verdict(med[1], med[2], True)))
    lost = {d: int(sum(v[3] for v in table["loop"][d])) for d in ("ours", "upstream")}
    p("edges lost (device had no eventq buffer yet; retried, not timed): "
      "ours %d, upstream %d of %d each" % (lost["ours"], lost["upstream"],
                                           args.rounds * args.edges))
    # Every switch between the guest's tasks is a switch between host
    # threads for UML, whose cost (the FPU state saved and restored) is
    # the host CPU's: a driver that needs more of them per edge pays more
    # on a host where they are dear.
    per_edge = {d: statistics.median(switches[d]) / args.edges
                for d in ("ours", "upstream")}
    p("guest context switches per edge (loop-back run, pauses included; "
      "median of the rounds): ours %.2f, upstream %.2f"
      % (per_edge["ours"], per_edge["upstream"]))
    p("")
    if sorted(floor) != ["ours", "upstream"]:
        raise RuntimeError("floor not measured for both drivers")
    for driver in ("ours", "upstream"):
        p("floor, no-op backend handler, get via %-8s: median %5.0f us, "
          "p99 %5.0f us (medians of %d rounds)" % (
              driver, statistics.median(v[0] for v in floor[driver]),
              statistics.median(v[1] for v in floor[driver]),
              len(floor[driver])))
    med = _paired(floor["ours"], floor["upstream"], 0)
    p("floor ratio ours/upstream: %5.3f [%5.3f..%5.3f]  %s"
      % (*med, _verdict(med[1], med[2], True)))
    o_get = statistics.median(v[0] for v in table["get"]["ours"])
    p("floor / ours' get median: %.2f (what driver and device model add"
      " to the bare round trip)" % (
          statistics.median(v[0] for v in floor["ours"]) / o_get))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    bench_uml.add_arguments(parser)
    parser.add_argument("--probe-src", required=True, help="tools/guest/gpio-probe.c")
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--edges", type=int, default=500)
    args = parser.parse_args(argv)
    work = bench_uml.workdir(args, "vgpio-bench-")
    lines = run_guest(args, work)
    table, floor, switches = summarise(lines, args.rounds)
    report(table, floor, switches, args)
    print("\n(logs in %s)" % work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
