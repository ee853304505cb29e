"""The host's side of tests/guest/several-devices.sh: the bench of three
devices one backend serves, and the run that answers the guest's sync
points and raises the edges its watchers wait for."""

import os
import re
import time

from virtio_gpio.vhost_user.control import send_control, start


class Device:
    """One device of the bench: its lines' names, the levels its inputs
    start at, the input line watched for edges and the line driven."""

    def __init__(self, name, prefix, count, high, watch, drive):
        self.name = name
        self.names = ["%s%d" % (prefix, n) for n in range(count)]
        self.high = high
        self.watch = watch
        self.drive = drive

    @property
    def first(self):
        return self.names[0]

    def values(self, driven=None):
        """The levels the guest reads, line 0 first, as "0100"; with
        ``driven``, the drive line at that level."""
        bits = ["1" if n in self.high else "0" for n in range(len(self.names))]
        if driven is not None:
            bits[self.drive] = str(driven)
        return "".join(bits)


#: each its own line count, names and levels, so that a chip read from the
#: wrong device shows; the watched and driven offsets differ between
#: devices, so that an edge reported on the wrong chip shows too
DEVICES = (Device("alpha", "a", 4, {3}, watch=1, drive=0),
           Device("beta", "b", 6, {0, 5}, watch=2, drive=4),
           Device("gamma", "c", 8, {1, 4, 7}, watch=3, drive=5))
#: the device unbound and bound again
UNBIND = DEVICES[1]
BY_FIRST = {d.first: d for d in DEVICES}

#: the line a kernel prints once per oops ("Oops: 0010 [#1]" in 6.1,
#: "Oops: Oops: 0010 [#1]" in 6.12)
OOPS = re.compile(r"\] Oops: .*\[#\d+\]")


def bench_text(work):
    """The bench file of :data:`DEVICES`, its sockets in ``work``."""
    out = []
    for d in DEVICES:
        out += ["[[device]]", 'name = "%s"' % d.name,
                'socket = "%s"' % os.path.join(work, d.name + ".sock"),
                "lines = [%s]" % ", ".join('"%s"' % n for n in d.names)]
        if d.high:
            out.append("initial = { %s }" % ", ".join(
                "%s = 1" % d.names[n] for n in sorted(d.high)))
        out.append("")
    return "\n".join(out)


def guest_values(irq_first=True):
    """The placeholders of the guest's init scripts; without
    ``irq_first``, the first edges are watched only once a device was
    unbound."""
    return {"PLAN": " ".join("%s:%d:%d" % (d.first, d.watch, d.drive)
                             for d in DEVICES),
            "UNBIND": UNBIND.first, "IRQ_FIRST": int(irq_first)}


class BenchBackend:
    """vgpio-vhost-user serving :data:`DEVICES` from one process."""

    def __init__(self, work):
        work = str(work)
        self.bench = os.path.join(work, "several.toml")
        with open(self.bench, "w") as f:
            f.write(bench_text(work))
        self.control = os.path.join(work, "several.ctl")
        self.sockets = [os.path.join(work, d.name + ".sock") for d in DEVICES]
        self.log_path = os.path.join(work, "backend.log")
        self.log = open(self.log_path, "w")
        self.proc = start(["--config", self.bench, "--control", self.control,
                           "-v"], self.control, log=self.log)

    def __call__(self, **command):
        return send_control(self.control, command)

    def states(self):
        """Each device's lines as its model holds them, by device name."""
        return {d.name: self(cmd="state", device=d.name)["lines"]
                for d in DEVICES}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        with open(self.log_path) as f:
            return f.read()


#: how long an edge may take to reach the guest's watcher, in seconds
EDGE_WAIT = 10
#: a UML kernel that panics halts without exiting
PANIC = "Kernel panic - not syncing"


class Panicked(Exception):
    """The guest's kernel panicked: nothing more will come."""


def next_line(guest, deadline):
    """The guest's next console line, or None at its end or the deadline.
    Raises Panicked after a panic's report (what follows it in 3 s)."""
    try:
        line = guest.expect("", timeout=max(deadline - time.monotonic(), 0.1))
    except TimeoutError:
        return None
    if PANIC in line:
        rest = time.monotonic() + 3
        try:
            while True:
                guest.expect("", timeout=max(rest - time.monotonic(), 0.1))
        except TimeoutError:
            pass
        raise Panicked(line)
    return line


def raise_edges(guest, backend, go, phase, firsts, deadline, result,
                edge_wait=EDGE_WAIT):
    """Once every watcher of ``firsts`` is ready or died in an oops, raise
    two edges on each ready device's watched line, one device after the
    other, each awaited (``edge_wait`` seconds) before the next; a device
    whose edge did not come gets no second one. What came is in
    ``result["toggles"]``; then the guest goes on past its "SYNC
    watched-PHASE" (``go``)."""
    waiting = {BY_FIRST[f].watch for f in firsts}
    ready = set()
    oopses = 0
    ready_by = min(deadline, time.monotonic() + 30)
    # A watcher that oopses never gets ready; the others still do.
    while len(ready) + oopses < len(waiting):
        line = next_line(guest, ready_by)
        if line is None:
            break
        if OOPS.search(line):
            oopses += 1
        match = re.fullmatch(r"EDGES-READY line=(\d+)", line)
        if match:
            ready.add(int(match.group(1)))
    result["ready"][phase] = sorted(ready)
    for first in firsts:
        device = BY_FIRST[first]
        if device.watch not in ready:
            continue
        for level in (1, 0):
            backend(cmd="set_input", device=device.name, line=device.watch,
                    level=level)
            seen = []
            until = min(deadline, time.monotonic() + edge_wait)
            while True:
                line = next_line(guest, until)
                if line is None:
                    break
                if line.startswith("EDGE "):
                    seen.append(line)
                    if line.endswith(" line=%d" % device.watch):
                        break
            result["toggles"].append({"phase": phase, "device": device.name,
                                      "level": level, "seen": seen})
            if not seen:
                break
    go("watched-" + phase)


def drive_run(guest, backend, go, timeout=420, edge_wait=EDGE_WAIT):
    """Follow the guest through tests/guest/several-devices.sh: at each
    "SYNC name" keep the models' state as ``result["states"][name]`` and
    let it go on (``go(name)``); at each "MD-WATCH" raise the edges (and
    let it past its "SYNC watched-PHASE" then).
    Returns the result once the guest printed its kernel log, ended or
    panicked."""
    result = {"states": {}, "toggles": [], "ready": {}, "panic": None}
    deadline = time.monotonic() + timeout
    try:
        while True:
            line = next_line(guest, deadline)
            if line is None or line == "MD-DMESG-END":
                break
            if line.startswith("SYNC ") and \
                    not line.startswith("SYNC watched-"):
                name = line.split()[1]
                result["states"][name] = backend.states()
                go(name)
            elif line.startswith("MD-WATCH "):
                words = line.split()
                raise_edges(guest, backend, go, words[1], words[2:],
                            deadline, result, edge_wait)
    except Panicked as exc:
        result["panic"] = str(exc)
    result["timed_out"] = time.monotonic() >= deadline
    return result


def surveys(lines, phase):
    """The guest's "MD-SURVEY ``phase``" lines as {virtioN: fields}, where
    fields has chip, label, lines, names and values (or is None for a
    device without chip)."""
    out = {}
    for line in lines:
        words = line.split()
        if words[:2] != ["MD-SURVEY", phase]:
            continue
        if words[3] == "none":
            out[words[2]] = None
            continue
        fields = dict(w.split("=", 1) for w in words[4:])
        fields["chip"] = words[3]
        fields["names"] = fields["names"].split(",")
        out[words[2]] = fields
    return out


def by_device(survey):
    """A survey keyed by the bench device whose line names each chip has;
    a chip with names of no device is under its own first name."""
    out = {}
    for vdev, fields in survey.items():
        if fields is None:
            continue
        name = next((d.name for d in DEVICES if d.names == fields["names"]),
                    fields["names"][0])
        out[name] = dict(fields, vdev=vdev)
    return out


def dmesg(lines):
    """The guest's kernel log between MD-DMESG-BEGIN and MD-DMESG-END
    (UML prints KMEMLEAK before it); what came if the end never did."""
    if "MD-DMESG-BEGIN" not in lines:
        return []
    start = lines.index("MD-DMESG-BEGIN") + 1
    end = lines.index("MD-DMESG-END") if "MD-DMESG-END" in lines[start:] \
        else len(lines)
    return lines[start:end]
