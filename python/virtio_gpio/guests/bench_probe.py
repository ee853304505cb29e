"""``make bench-probe``: what a device's size costs at probe, our module
against Linux's gpio-virtio.

One plain UML guest of the newest series, four standard devices of 8, 256,
4096 and 65535 lines (65535 is the most ``ngpio`` can say), each served by
a backend of its own with interrupts negotiated. Per round and driver (the
order alternates per round) the guest loads the module, unbinds every
device, then binds each device alone and measures:

- the time ``echo virtioN > .../bind`` takes: probe, queue setup and the
  chip's registration with gpiolib, which both drivers share;
- how far MemFree fell while the device was bound (kB): everything the
  bind allocated, the driver's own and gpiolib's.

Only ratios carry over to another machine. A device a driver refuses (a
bind that fails) is reported as such, with its kernel log lines.
"""

import argparse
import os
import shlex
import statistics
import sys

from ..vhost_user.control import spawn
from . import bench_uml, uml

SIZES = (8, 256, 4096, 0xFFFF)

INIT = r"""#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
D=%(dir)s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
free_kb() {
	sed -n 's/^MemFree: *\([0-9]*\) kB$/\1/p' /proc/meminfo
}
settle() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	sleep 1
}
measure() {
	drv=/sys/bus/virtio/drivers/$2
	insmod "$D/$1.ko" || { echo "PROBE-FAIL insmod $1"; return; }
	for dev in $(ls /sys/bus/virtio/devices); do
		[ -e "$drv/$dev" ] && echo "$dev" > "$drv/unbind"
	done
	for dev in $(ls /sys/bus/virtio/devices); do
		settle
		before=$(free_kb)
		start=$(date +%%s%%N)
		echo "$dev" > "$drv/bind" 2>/dev/null
		rc=$?
		end=$(date +%%s%%N)
		after=$(free_kb)
		chip=$(ls "/sys/bus/virtio/devices/$dev" | grep -m1 '^gpiochip')
		lines=$(gpiodetect | sed -n "s/^$chip .*(\([0-9]*\) lines)$/\1/p")
		echo "PROBE $1 $dev rc=$rc us=$(( (end - start) / 1000 )) kb=$((before - after)) lines=${lines:-0}"
		[ "$rc" = 0 ] && echo "$dev" > "$drv/unbind"
	done
	rmmod "$2"
}
%(measure_rounds)s
echo "PROBE-DMESG-BEGIN"
dmesg --color=never | grep -E "vgpio|gpio.virtio|virtio|BUG|WARNING|allocation failure"
echo "PROBE-DMESG-END"
echo "PROBE-DONE"
/bin/busybox poweroff -f
"""


def run_guest(args, work):
    """Boot the guest with one backend per size; returns its lines."""
    kernel = bench_uml.kernel_and_drivers(args, work)
    init = os.path.join(work, "init.sh")
    with open(init, "w") as f:
        f.write(INIT % dict(dir=shlex.quote(work), measure_rounds=(
            bench_uml.alternating_rounds("measure", args.rounds))))
    os.chmod(init, 0o755)

    backends, logs, socks = [], [], []
    try:
        for size in SIZES:
            sock = os.path.join(work, "gpio%d.sock" % size)
            log = open(os.path.join(work, "backend%d.log" % size), "w")
            logs.append(log)
            backends.append(spawn(sock, os.path.join(work, "gpio%d.ctl" % size),
                                  ["--protocol", "standard", "--lines",
                                   str(size), "--once"], log))
            socks.append(sock)
        guest = uml.Guest(kernel, init, socks, device_id=41, memory="512M",
                          log_path=os.path.join(work, "guest.log"))
        try:
            guest.expect("PROBE-DONE", timeout=args.timeout)
            guest.wait(60)
        finally:
            guest.kill()
    finally:
        for backend in backends:
            if backend.poll() is None:
                backend.kill()
            backend.wait()
        for log in logs:
            log.close()
    return guest.lines


def parse(lines):
    """{(driver, lines): [(ok, ms, kb), ...]} from the PROBE lines; a
    failed bind counts under the size its device has (the order of the
    sockets, virtio0 first)."""
    results = {}
    for line in lines:
        fields = line.split()
        if not line.startswith("PROBE ") or len(fields) != 7:
            continue
        values = dict(f.split("=", 1) for f in fields[3:])
        size = SIZES[int(fields[2][len("virtio"):])]
        ok = values["rc"] == "0" and int(values["lines"]) == size
        results.setdefault((fields[1], size), []).append(
            (ok, int(values["us"]) / 1000, int(values["kb"])))
    return results


def report(results, rounds, dmesg, out=sys.stdout):
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p("Probe of one standard device (bind), plain UML, %d rounds, driver "
      "order alternating;" % rounds)
    p("medians of the rounds; memory is MemFree's fall while bound.")
    p("")
    p("%-7s %12s %12s %9s %12s %12s" % ("lines", "ours ms", "upstream ms",
                                        "ratio", "ours kB", "upstream kB"))
    for size in SIZES:
        row = []
        for driver in ("ours", "upstream"):
            runs = results.get((driver, size), [])
            good = [r for r in runs if r[0]]
            if len(good) != len(runs) or len(runs) != rounds:
                row.append(None)
            else:
                row.append((statistics.median(r[1] for r in good),
                            statistics.median(r[2] for r in good)))
        cell = lambda v, i, f: f % v[i] if v else "refused"  # noqa: E731
        ratio = "%9.2f" % (row[0][0] / row[1][0]) if all(row) else "%9s" % "-"
        p("%-7d %12s %12s %s %12s %12s" % (
            size, cell(row[0], 0, "%.1f"), cell(row[1], 0, "%.1f"), ratio,
            cell(row[0], 1, "%d"), cell(row[1], 1, "%d")))
    if dmesg:
        p("")
        p("kernel log lines of refused binds and warnings:")
        for line in dmesg:
            p("  " + line)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    bench_uml.add_arguments(parser, timeout=1800)
    args = parser.parse_args(argv)
    work = bench_uml.workdir(args, "vgpio-bench-probe-")
    lines = run_guest(args, work)
    begin, end = lines.index("PROBE-DMESG-BEGIN"), lines.index("PROBE-DMESG-END")
    dmesg = [l for l in lines[begin + 1:end]
             if any(w in l for w in ("error", "fail", "WARNING", "BUG",
                                     "rejected", "refused"))]
    report(parse(lines), args.rounds, dmesg)
    print("\n(logs in %s)" % work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
