"""``make bench``: get_value round trips, Python path vs pure C, one run.

Both loops drive the same core over the same simulated rings; the Python
one goes Python -> cffi -> core -> rings -> Python device model, the C one
uses a C loopback device (python/csrc/bench_loopback.c). Only the ratio is
meaningful; absolute numbers depend on the machine.
"""

import argparse
import statistics
import subprocess
import sys
import time

from .simtransport import simulated_chip


def python_ops_per_s(ops):
    with simulated_chip(8) as chip:
        for line in range(8):
            chip.direction_output(line, 1)
        start = time.perf_counter()
        for i in range(ops):
            chip.get_value(i & 7)
        return ops / (time.perf_counter() - start)


def c_ops_per_s(binary, ops):
    out = subprocess.run([binary, str(ops)], check=True, capture_output=True,
                         text=True).stdout.split()
    return int(out[0]) / float(out[1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--c-binary", required=True)
    parser.add_argument("--ops", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    py, c = [], []
    for _ in range(args.rounds):  # interleaved, so drift hits both alike
        py.append(python_ops_per_s(args.ops))
        c.append(c_ops_per_s(args.c_binary, args.ops * 100))
    py_med, c_med = statistics.median(py), statistics.median(c)
    print("get_value round trip, median of %d interleaved rounds" % args.rounds)
    print("  python -> cffi -> core -> model : %12.0f ops/s (spread %.0f%%)"
          % (py_med, 100 * (max(py) - min(py)) / py_med))
    print("  C loopback over the same core   : %12.0f ops/s (spread %.0f%%)"
          % (c_med, 100 * (max(c) - min(c)) / c_med))
    print("  ratio python/C                  : %12.4f (C is %.0fx faster)"
          % (py_med / c_med, c_med / py_med))
    return 0


if __name__ == "__main__":
    sys.exit(main())
