"""vgpio-guest: boot a Debian kernel under QEMU with vgpio.ko and libgpiod's
tools, attached to running vhost-user GPIO backends.

Each ``-s SOCKET`` becomes a vhost-user-gpio-pci device, hot-plugged once
the module is loaded and its backend listens: start the backends before
or after, a backend that is not there yet is waited for (up to
``--timeout``), one that restarts is plugged again and the guest probes
it afresh. With ``--run CMD`` the guest runs CMD once every chip is up,
its output is printed and its exit status is vgpio-guest's; without, the
guest's console is a shell on this terminal (Ctrl-A X quits QEMU).

vgpio.ko is built from the checkout's kernel/ for the chosen kernel once
and kept in the build cache (~/.cache/virtio-gpio or $VGPIO_CACHE_DIR).
QEMU runs with TCG; its memory is shared, as vhost-user needs.
"""

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import termios
import time
import tty

from .. import progress
from ..clitext import plain
from . import debian_images, drivers, guest_initramfs, module_cache, qemu
from .hotplug import Hotplug, is_socket
from .passthrough import PassthroughGuest
from .qmp import QMP

PROG = "vgpio-guest"
DEFAULT_TIMEOUT = 120.0
MEMORY = "512M"
#: seconds QEMU has to power off after the command ended
POWEROFF_TIMEOUT = 30.0


class BadInput(Exception):
    """An argument that stops vgpio-guest before anything starts."""


class GuestFailed(Exception):
    """The guest did not come up or did not finish; the message says how."""


class Signalled(BaseException):
    """SIGTERM or SIGHUP arrived: unwind as for Ctrl-C."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


class Reporter:
    """Progress lines on stderr; once the terminal is raw, with the
    carriage return a raw terminal no longer adds."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.raw = False

    def __call__(self, message):
        end = "\r\n" if self.raw else "\n"
        self.stream.write("%s: %s%s" % (PROG, message, end))
        self.stream.flush()


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog=PROG, description=plain(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-s", "--socket", dest="sockets", action="append",
                        default=[], metavar="SOCKET",
                        help="a backend's vhost-user socket (repeat for "
                             "more devices); it may appear later")
    parser.add_argument("--kernel", metavar="6.1|6.12|PATH",
                        help="the Debian kernel series to boot, or a kernel "
                             "image; default: the newest installed series")
    parser.add_argument("--run", metavar="CMD",
                        help="run CMD (sh) in the guest once the chips are "
                             "up, print its output, exit with its status")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        metavar="S",
                        help="seconds to wait for the backends and the boot "
                             "(default %(default).0f)")
    parser.add_argument("--module-src", metavar="DIR",
                        help="vgpio.ko's sources (default: kernel/ of the "
                             "checkout around the current directory or the "
                             "venv)")
    return parser.parse_args(argv)


def check_sockets(paths):
    """The absolute socket paths; BadInput for one that can never serve."""
    if not paths:
        raise BadInput("no backend socket given (-s SOCKET)")
    checked = []
    for path in paths:
        path = os.path.abspath(path)
        if path in checked:
            raise BadInput("%s given twice (a backend serves one front end)"
                           % path)
        if os.path.exists(path):
            if not is_socket(path):
                raise BadInput("%s is not a socket" % path)
        elif not os.path.isdir(os.path.dirname(path)):
            raise BadInput("%s cannot appear: no directory %s"
                           % (path, os.path.dirname(path)))
        checked.append(path)
    return checked


def check_args(args):
    """(sockets, kernel, module sources) of valid arguments, else BadInput."""
    sockets = check_sockets(args.sockets)
    if not args.timeout > 0:
        raise BadInput("--timeout must be more than 0 seconds")
    try:
        kernel = debian_images.resolve(args.kernel)
    except debian_images.UnknownKernel as exc:
        raise BadInput(str(exc)) from None
    src = args.module_src or module_cache.find_sources()
    if src is None or not os.path.isfile(os.path.join(src, "Kbuild")):
        raise BadInput("no vgpio.ko sources %s: give --module-src DIR (the "
                       "checkout's kernel/)" % ("at %s" % src if src else
                                                "found"))
    return sockets, kernel, os.path.abspath(src)


def _die_with_parent():
    # QEMU goes when vgpio-guest goes, even killed with SIGKILL, where no
    # clean-up of ours runs. PR_SET_PDEATHSIG = 1.
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def wait_for(guest, marker, deadline):
    """Read the console up to the line ``marker``; GuestFailed when the
    guest reports a failure or QEMU ends, TimeoutError past ``deadline``."""
    while True:
        line = guest.read_line(max(deadline - time.monotonic(), 0.01))
        if line is None:
            raise GuestFailed("QEMU exited (status %s) before %s; last "
                              "console lines:\n%s" % (
                                  guest.proc.wait(), marker,
                                  "\n".join(guest.lines[-20:])))
        if line.startswith(guest_initramfs.FAILED):
            raise GuestFailed("guest: %s" % line[len(guest_initramfs.FAILED):])
        if line == marker:
            return


def connect_qmp(path, guest, deadline):
    """QMP of the QEMU just started, once its socket is there."""
    while not os.path.exists(path):
        if guest.proc.poll() is not None:
            raise GuestFailed("QEMU exited at start (status %d)"
                              % guest.proc.returncode)
        if time.monotonic() > deadline:
            raise GuestFailed("QEMU opened no QMP socket")
        time.sleep(0.05)
    return QMP(path)


def relay(guest, out):
    """Print the command's output as the guest prints it; its status.

    Each line goes out as soon as it arrives (a host may act on it), but
    an empty one waits for the next: the empty line right before the
    exit marker is the one /init's "echo" made to end the command's
    output, and is dropped.
    """
    blanks = 0
    while True:
        line = guest.read_line(None)
        if line is None:
            raise GuestFailed("QEMU exited before the command finished")
        if line.startswith(guest_initramfs.EXIT):
            out.write("\n" * max(blanks - 1, 0))
            out.flush()
            return int(line[len(guest_initramfs.EXIT):])
        if not line:
            blanks += 1
            continue
        out.write("\n" * blanks + line + "\n")
        out.flush()
        blanks = 0


def interactive(guest, report):
    """The console on this terminal until QEMU exits; its status."""
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd) if os.isatty(fd) else None
    out = sys.stdout.buffer

    def sink(data):
        out.write(data)
        out.flush()

    report("shell on the guest's console; Ctrl-A X quits QEMU")
    try:
        if saved is not None:
            tty.setraw(fd)
            report.raw = True
        guest.hand_over(sink)
        guest.pump(fd)
        return guest.proc.wait()
    finally:
        if saved is not None:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
            report.raw = False


def qemu_command(kernel, initrd, qmp_path, quiet):
    """QEMU's command line: ``kernel`` (a debian_images.Kernel) with
    ``initrd``, no device yet, QMP on ``qmp_path``; ``quiet`` keeps the
    kernel's messages off the console."""
    # vhost-user backends map the guest's memory: it must be shared (as
    # in qemu.vhost_user_gpio_args), from the start, as devices come
    # later. -qmp takes the place of -nographic's default monitor, and
    # with it the console's Ctrl-A escapes: mon:stdio brings them back.
    # When the console carries a command's output, the kernel keeps its
    # messages off it.
    return qemu.command(
        kernel.image, initrd, memory=MEMORY,
        append="loglevel=1" if quiet else "",
        extra_args=["-object", "memory-backend-memfd,id=mem,size=%s,"
                    "share=on" % MEMORY, "-numa", "node,memdev=mem",
                    "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
                    "-serial", "mon:stdio"])


def boot(sockets, kernel, src, command, timeout, report):
    """Build, boot, attach, run; the exit status."""
    module = module_cache.module(src, kernel.release, kernel.kdir, report)
    with tempfile.TemporaryDirectory(prefix="vgpio-guest-") as work:
        start = time.monotonic()
        initrd = guest_initramfs.build(os.path.join(work, "initrd.gz"),
                                       kernel.release, module, len(sockets),
                                       command)
        report("[initramfs] busybox, libgpiod's tools, vgpio.ko: %.1f s"
               % (time.monotonic() - start))
        qmp_path = os.path.join(work, "qmp.sock")
        cmd = qemu_command(kernel, initrd, qmp_path,
                           quiet=command is not None)
        start = time.monotonic()
        deadline = start + timeout
        report("[boot] QEMU (TCG) with Debian %s, %d device(s) to attach"
               % (kernel.release, len(sockets)))
        guest = PassthroughGuest(cmd, preexec_fn=_die_with_parent)
        qmp = hotplug = None
        try:
            qmp = connect_qmp(qmp_path, guest, deadline)
            wait_for(guest, guest_initramfs.LOADED, deadline)
            report("[boot] vgpio.ko loaded after %.1f s"
                   % (time.monotonic() - start))
            hotplug = Hotplug(qmp, sockets, report)
            hotplug.start()
            try:
                wait_for(guest, guest_initramfs.CHIPS_UP, deadline)
            except TimeoutError:
                raise GuestFailed("no chip after %.0f s: %s" % (
                    timeout, hotplug.why_unplugged())) from None
            report("[boot] %d chip(s) up after %.1f s"
                   % (len(sockets), time.monotonic() - start))
            if command is None:
                return interactive(guest, report)
            status = relay(guest, sys.stdout)
            try:
                guest.proc.wait(POWEROFF_TIMEOUT)
            except subprocess.TimeoutExpired:
                report("QEMU did not power off; killed")
            return status
        except TimeoutError:
            raise GuestFailed("the guest did not boot within %.0f s; last "
                              "console lines:\n%s" % (
                                  timeout, "\n".join(guest.lines[-20:]))) \
                from None
        finally:
            if hotplug is not None:
                hotplug.stop()
            guest.kill()
            if qmp is not None:
                qmp.close()


def main(argv=None):
    args = parse_args(argv)
    report = Reporter()
    try:
        sockets, kernel, src = check_args(args)
    except BadInput as exc:
        report(str(exc))
        return 2

    def terminate(signum, frame):
        raise Signalled(signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, terminate)
    try:
        return boot(sockets, kernel, src, args.run, args.timeout, report)
    except KeyboardInterrupt:
        report("interrupted")
        return 128 + signal.SIGINT
    except Signalled as exc:
        report("stopped by signal %d" % exc.signum)
        return 128 + exc.signum
    except (GuestFailed, drivers.BuildError, progress.BuildFailed,
            FileNotFoundError) as exc:
        report(str(exc))
        return 1


if __name__ == "__main__":
    sys.exit(main())
