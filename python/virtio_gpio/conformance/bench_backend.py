"""``make bench-backend``: our vhost-user backend against a C responder,
no guest, one run.

The kit's front end (:mod:`.frontend`) plays the guest against two
processes serving the same device (ID 41, 8 lines): ``vgpio-vhost-user
--protocol standard`` (Python), and ``vgpio-responder``
(tools/responder/vgpio-responder.c), the least a vhost-user GPIO
backend can be in C. Three operations, one at a time, each waited for:

``get``
    a GET_VALUE chain posted on the requestq, the queue kicked, the used
    element and the call eventfd seen, the value checked;
``set``
    the same with SET_VALUE on an output line;
``irq``
    the interrupt round trip: an eventq buffer posted for an input line
    armed for both edges (SET_IRQ_TYPE once, before timing), the eventq
    kicked, the line toggled through the control socket (one connection
    carrying ``{"cmd": "set_input", ...}`` and its answer, the same JSON
    to both), and the buffer seen completed VALID with the call eventfd.

All three processes run on one CPU unless told otherwise (``--no-pin``):
then each wake-up is a switch between processes, and the latencies are
what the work costs. Left to the scheduler on a virtual machine, a
backend woken on another CPU may wait for that CPU to come out of its
idle state (tens of microseconds here), and whether it does depends on
where the scheduler put it, so that the ratio jumps between runs.

Within a round the two sides take turns, in blocks of 25 operations
(which side goes first alternates), so that whatever else the machine
does falls on both alike. Requests per second are one at a time: the
inverse of the mean latency. The ratios ours/C are per round; their
median and spread (min..max over rounds) are printed. Absolute numbers
depend on the machine and are never a gate.

The front end is Python too, and its own cost is in both sides'
latencies: the ratios understate how much slower the backend alone is.
The difference of the p50 latencies (ours - C, also printed) is what
our backend costs beyond the C one.
"""

import argparse
import contextlib
import dataclasses
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

from ..vhost_user.control import send_control, spawn
from ..wire.standard import (IRQ_REQUEST, REQUEST, Direction, IrqStatus,
                             IrqType, Msg, Status)
from .frontend import FrontEnd

OPERATIONS = ("get", "set", "irq")
LINES = 8
#: the output line ``set`` drives and ``get`` reads back
OUT_LINE = 0
#: the input line ``irq`` toggles
IRQ_LINE = 1
TIMEOUT = 5.0
#: operations of each kind run on each side before the first round
WARMUP = 50
#: how many operations one side does before the other takes its turn. Not
#: one: a backend finishes some work after it signals the front end (the
#: Python one more than the C one), and on one CPU that work would run
#: inside the other side's next operation and be timed as the other's.
BLOCK = 25


class BenchError(Exception):
    """A side answered wrongly, or not at all."""


@dataclasses.dataclass
class Round:
    """One operation's round on one side."""

    #: every operation's latency, seconds
    latencies: List[float]

    @property
    def per_second(self):
        """Operations per second, one at a time: the inverse of the
        mean latency."""
        return len(self.latencies) / sum(self.latencies)

    def percentile(self, p):
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1,
                           math.ceil(p / 100 * len(ordered)) - 1)]


class Side:
    """One backend process and the front end connected to it."""

    def __init__(self, name, socket_path, control, proc=None):
        self.name = name
        self.control = control
        self.proc = proc
        self.front = FrontEnd.connect(socket_path, timeout=TIMEOUT)
        self.level = 0
        self.out_value = 0
        self.rounds: Dict[str, List[Round]] = {op: [] for op in OPERATIONS}
        self.front.handshake()
        self._request(Msg.SET_DIRECTION, OUT_LINE, Direction.OUT)
        self._request(Msg.SET_VALUE, OUT_LINE, 0)
        self._request(Msg.SET_DIRECTION, IRQ_LINE, Direction.IN)
        self._request(Msg.SET_IRQ_TYPE, IRQ_LINE, IrqType.EDGE_BOTH)
        answer = send_control(self.control, {
            "cmd": "set_input", "line": IRQ_LINE, "level": 0})
        if not answer.get("ok"):
            raise BenchError("%s: set_input refused: %s" % (name, answer))

    def close(self):
        self.front.close()

    def _request(self, msg, line, value):
        front = self.front
        chain = front.post_chain(0, REQUEST.pack(msg, line, value), 2)
        front.notify(0)
        if not front.wait(chain):
            raise BenchError("%s: no answer to %s" % (self.name, msg.name))
        reply = front.response(chain)
        if chain.used_len != 2 or reply[0] != Status.OK:
            raise BenchError("%s: %s line %d value %d answered %s (used %s)"
                             % (self.name, msg.name, line, value,
                                reply.hex(), chain.used_len))
        return reply[1]

    # -- the operations, each checked ------------------------------------

    def get(self):
        value = self._request(Msg.GET_VALUE, OUT_LINE, 0)
        if value != self.out_value:
            raise BenchError("%s: GET_VALUE read %d, %d was set"
                             % (self.name, value, self.out_value))

    def set(self):
        self.out_value ^= 1
        self._request(Msg.SET_VALUE, OUT_LINE, self.out_value)

    def irq(self):
        front = self.front
        chain = front.post_chain(1, IRQ_REQUEST.pack(IRQ_LINE), 1)
        front.notify(1)
        self.level ^= 1
        answer = send_control(self.control, {
            "cmd": "set_input", "line": IRQ_LINE, "level": self.level},
            timeout=TIMEOUT)
        if not answer.get("ok") or not answer.get("changed"):
            raise BenchError("%s: set_input answered %s" % (self.name, answer))
        if not front.wait(chain):
            raise BenchError("%s: the eventq buffer did not come back"
                             % self.name)
        status = front.response(chain)
        if chain.used_len != 1 or status != bytes([IrqStatus.VALID]):
            raise BenchError("%s: the eventq buffer came back %s (used %s)"
                             % (self.name, status.hex(), chain.used_len))


def run_pair(sides, op, count, block=None):
    """``count`` operations ``op`` on each of ``sides``, taking turns in
    blocks of ``block`` (and which goes first alternates), so that
    whatever else the machine does falls on both alike; a
    :class:`Round` for each side."""
    block = BLOCK if block is None else block
    clock = time.perf_counter
    do = [getattr(side, op) for side in sides]
    latencies = [[] for _ in sides]
    for start in range(0, count, block):
        first = (start // block) % 2
        for i in (first, 1 - first):
            for _ in range(min(block, count - start)):
                began = clock()
                do[i]()
                latencies[i].append(clock() - began)
    return [Round(each) for each in latencies]


@dataclasses.dataclass
class Ratio:
    """ours/C of one measure, per round."""

    values: List[float]

    @property
    def median(self):
        return statistics.median(self.values)

    def __str__(self):
        return "%5.2f (%.2f..%.2f)" % (self.median, min(self.values),
                                       max(self.values))


def ratios(ours: Side, theirs: Side, op):
    """{measure: Ratio} of ``op``: p50 and p99 latency, and time per
    operation (the inverse of the throughput), ours over C's."""
    pairs = list(zip(ours.rounds[op], theirs.rounds[op]))
    return {
        "p50": Ratio([a.percentile(50) / b.percentile(50) for a, b in pairs]),
        "p99": Ratio([a.percentile(99) / b.percentile(99) for a, b in pairs]),
        "rate": Ratio([b.per_second / a.per_second for a, b in pairs]),
    }


def bench(ours: Side, theirs: Side, rounds, ops, warmup=WARMUP):
    """``rounds`` rounds of ``ops`` operations of each kind on both sides,
    interleaved; the rounds are kept in each side's ``rounds``."""
    for op in OPERATIONS:
        run_pair((ours, theirs), op, warmup)
    for _ in range(rounds):
        for op in OPERATIONS:
            mine, other = run_pair((ours, theirs), op, ops)
            ours.rounds[op].append(mine)
            theirs.rounds[op].append(other)


def report(ours: Side, theirs: Side, rounds, ops, out=sys.stdout):
    def us(seconds):
        return seconds * 1e6

    print("backend speed, no guest: %d interleaved rounds of %d operations "
          "each" % (rounds, ops), file=out)
    print("  %-4s %-7s %10s %10s %10s   (medians over rounds)"
          % ("op", "side", "req/s", "p50 us", "p99 us"), file=out)
    for op in OPERATIONS:
        for side in (ours, theirs):
            done = side.rounds[op]
            print("  %-4s %-7s %10.0f %10.1f %10.1f" % (
                op, side.name,
                statistics.median(r.per_second for r in done),
                us(statistics.median(r.percentile(50) for r in done)),
                us(statistics.median(r.percentile(99) for r in done))),
                file=out)
    print("  ratio ours/C, median (min..max over rounds):", file=out)
    print("  %-4s %-18s %-18s %-18s %s" % (
        "op", "p50 latency", "p99 latency", "time per request",
        "p50 ours - C"), file=out)
    for op in OPERATIONS:
        r = ratios(ours, theirs, op)
        extra = statistics.median(
            a.percentile(50) - b.percentile(50)
            for a, b in zip(ours.rounds[op], theirs.rounds[op]))
        print("  %-4s %-18s %-18s %-18s %6.1f us" % (
            op, r["p50"], r["p99"], r["rate"], us(extra)), file=out)


def _wait_for(paths, proc, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not all(os.path.exists(p) for p in paths):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise BenchError("%s did not start (exit %s)"
                             % (what, proc.returncode))
        time.sleep(0.02)


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def sides(responder, workdir, ours_sockets=None):
    """(ours, C): both processes started, their front ends set up.

    :param ours_sockets: (socket, control) of a backend already running
        (one started under a profiler, say) instead of starting one
    """
    with contextlib.ExitStack() as stack:
        if ours_sockets is None:
            sock = os.path.join(workdir, "ours.sock")
            ctl = os.path.join(workdir, "ours.ctl")
            log = stack.enter_context(open(os.path.join(workdir, "ours.log"),
                                           "wb"))
            proc = spawn(sock, ctl, ["--protocol", "standard", "--lines",
                                     str(LINES)], log=log)
            stack.callback(_stop, proc)
        else:
            (sock, ctl), proc = ours_sockets, None
        c_sock = os.path.join(workdir, "c.sock")
        c_ctl = os.path.join(workdir, "c.ctl")
        c_proc = subprocess.Popen([responder, "-s", c_sock, "--control",
                                   c_ctl, "--lines", str(LINES)])
        stack.callback(_stop, c_proc)
        _wait_for([c_sock, c_ctl], c_proc, responder)
        ours = Side("ours", sock, ctl, proc)
        stack.callback(ours.close)
        theirs = Side("C", c_sock, c_ctl, c_proc)
        stack.callback(theirs.close)
        yield ours, theirs


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m virtio_gpio.conformance.bench_backend",
        description="Our vhost-user backend against a minimal C responder: "
        "get, set and interrupt round trips, ratios ours/C.")
    parser.add_argument("--responder", required=True,
                        help="the vgpio-responder binary")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--ops", type=int, default=1000,
                        help="operations of each kind per round and side")
    parser.add_argument("--ours", nargs=2, metavar=("SOCKET", "CONTROL"),
                        help="bench a backend already running (e.g. under "
                        "a profiler) instead of starting one; pin it "
                        "yourself (taskset)")
    pin = parser.add_mutually_exclusive_group()
    pin.add_argument("--cpu", type=int,
                     help="the CPU the front end and both backends run on "
                     "(default: the last this process may use)")
    pin.add_argument("--no-pin", action="store_true",
                     help="let the scheduler place the processes")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.ops < 1:
        parser.error("--rounds and --ops must be at least 1")
    if not args.no_pin:
        allowed = os.sched_getaffinity(0)
        cpu = max(allowed) if args.cpu is None else args.cpu
        if cpu not in allowed:
            parser.error("--cpu %d: this process may use CPUs %s"
                         % (cpu, sorted(allowed)))
        # The backends inherit it.
        os.sched_setaffinity(0, {cpu})
        print("pinned to CPU %d" % cpu)
    with tempfile.TemporaryDirectory(prefix="vgpio-bench-") as workdir:
        with sides(args.responder, workdir, args.ours) as (ours, theirs):
            bench(ours, theirs, args.rounds, args.ops)
            report(ours, theirs, args.rounds, args.ops)
    return 0


if __name__ == "__main__":
    sys.exit(main())
