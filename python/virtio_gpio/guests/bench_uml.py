"""What the two UML guest benchmarks (bench_guest, bench_probe) share:
their command line's common part, the work folder, a plain UML kernel
with both drivers built for it, and the guest's rounds in alternating
driver order.

Standard library only, like the other guest runners.
"""

import os
import shutil
import tempfile

from . import drivers, uml


def add_arguments(parser, rounds=3, timeout=900):
    """The options both benchmarks take."""
    parser.add_argument("--linux-source", required=True,
                        help="unpacked tree from tools/linux-source SERIES")
    parser.add_argument("--uml-patches", default="tools/uml-patches",
                        help="the checkout's tools/uml-patches")
    parser.add_argument("--kernel-src", required=True,
                        help="this project's kernel/")
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--timeout", type=int, default=timeout)
    parser.add_argument("--workdir", help="keep the build and logs here")


def workdir(args, prefix):
    """--workdir emptied, or a new temporary folder."""
    if args.rounds < 1:
        raise SystemExit("--rounds must be at least 1")
    if not args.workdir:
        return tempfile.mkdtemp(prefix=prefix)
    work = os.path.abspath(args.workdir)
    if os.path.isdir(work):
        shutil.rmtree(work)
    os.makedirs(work)
    return work


def kernel_and_drivers(args, work):
    """A plain UML kernel (lockdep and KASAN would weigh on every figure)
    and work/ours.ko, work/upstream.ko built for it."""
    kernel = uml.build_kernel(args.linux_source, patches=args.uml_patches,
                              debug=False)
    for driver in ("ours", "upstream"):
        ko = drivers.build(driver, kernel, work, kernel_src=args.kernel_src,
                           linux_source=args.linux_source, arch="um")
        os.replace(ko, os.path.join(work, driver + ".ko"))
    return kernel


def alternating_rounds(function, rounds):
    """Shell lines running ``function DRIVER MODULE`` for both drivers in
    each of ``rounds`` rounds, the order alternating per round so that a
    drift of the host hits both alike."""
    ours, upstream = (
        "%s %s %s" % (function, driver, drivers.MODULE_NAMES[driver])
        for driver in ("ours", "upstream"))
    return "\n".join([
        "for round in %s; do" % " ".join(str(r) for r in range(1, rounds + 1)),
        "\tif [ $((round % 2)) = 1 ]; then",
        "\t\t%s; %s" % (ours, upstream),
        "\telse",
        "\t\t%s; %s" % (upstream, ours),
        "\tfi",
        "done",
    ])
