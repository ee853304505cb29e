"""A QEMU guest booted once and kept running, in which a Python caller
runs one shell command after another: what ``vgpio-guest --run`` does for
one command, for the many of a test session.

It boots as ``vgpio-guest`` does, from the same pieces (``guest_cli``
and what it builds on): a Debian kernel, vgpio.ko from the build cache,
libgpiod's tools, every backend socket hot-plugged and plugged again
after a backend restarts. Only the command /init runs once the chips are
up differs: an agent, a shell loop that reads requests typed on the
console and answers on it::

    from virtio_gpio.guests.bench_vm import Guest

    with Guest(["/tmp/panel.sock"]) as guest:
        print(guest.run("gpiodetect").output)
        with guest.spawn("gpiomon -b gpiochip0 1") as monitor:
            ...                           # press the button from the host
        print(monitor.result.output)

The console is the guest's only channel (no network, no shared file
system), so the requests are lines: ``put ID CHUNK`` (a program's text,
base64, in chunks a terminal line holds), ``start ID``, ``finish ID
SECONDS`` and ``quit``. One request is in flight at a time, each
answered, so the guest's terminal never holds more than one line of
input. The agent turns echo off, so requests do not come back as output.

Each program runs in a session of its own (``setsid``), its output (stdout
and stderr) in a file of the guest's: programs in the background never
write into another's answer, and a stop ends the whole process group,
children too. ``finish`` waits for the program for SECONDS, then sends
SIGTERM and, 5 s later, SIGKILL; its answer is the output (base64, each
line marked, so that nothing else on the console can pass for it) and the
exit status.

Standard library only, like the other guest runners.
"""

import base64
import dataclasses
import math
import os
import shutil
import tempfile
import threading
import time

from . import debian_images, guest_cli, guest_initramfs, module_cache
from .guest_cli import GuestFailed
from .hotplug import Hotplug
from .passthrough import PassthroughGuest

#: seconds QEMU, the boot and the hot-plug of every backend may take
BOOT_TIMEOUT = guest_cli.DEFAULT_TIMEOUT
#: seconds :meth:`Guest.run` gives a command unless told otherwise
RUN_TIMEOUT = 60.0
#: seconds the agent takes beyond a program's time: SIGKILL comes 5 s
#: after SIGTERM, then the output crosses the console
ANSWER_MARGIN = 30.0
#: base64 characters per ``put`` line, well within a terminal line (4095)
CHUNK = 512

READY = "VGPIO-AGENT-READY"
PUT = "VGPIO-AGENT-PUT "
STARTED = "VGPIO-AGENT-STARTED "
OUTPUT = "VGPIO-AGENT-OUTPUT "
END = "VGPIO-AGENT-END "
#: marks each base64 line of an output
DATA = "@"

#: the command /init runs once the chips are up: the agent
AGENT = r"""
# The agent of virtio_gpio.guests.bench_vm.
D=/tmp/vgpio-agent
mkdir -p "$D"
# The shell's own notices ("Terminated") would land among the answers.
exec 2>"$D/agent.err" </dev/console
# Typed requests must not come back as output.
stty -echo
report() {
	echo "VGPIO-AGENT-OUTPUT $1"
	base64 "$D/$1.out" | sed 's/^/@/'
	echo "VGPIO-AGENT-END $1 $2 $3"
	rm -f "$D/$1".*
}
echo "VGPIO-AGENT-READY"
while read -r op id arg; do
	case $op in
	put)
		echo "$arg" >>"$D/$id.b64"
		echo "VGPIO-AGENT-PUT $id"
		;;
	start)
		base64 -d "$D/$id.b64" >"$D/$id.sh"
		setsid sh "$D/$id.sh" </dev/null >"$D/$id.out" 2>&1 &
		echo $! >"$D/$id.pid"
		echo "VGPIO-AGENT-STARTED $id"
		;;
	finish)
		pid=$(cat "$D/$id.pid")
		(
			sleep "$arg"
			# Gone, or a zombie: it ended by itself, not stopped.
			state=$(cut -d' ' -f3 "/proc/$pid/stat")
			[ -n "$state" ] && [ "$state" != Z ] || exit 0
			touch "$D/$id.late"
			kill -TERM "-$pid"
			sleep 5
			kill -KILL "-$pid"
		) &
		dog=$!
		wait "$pid"
		rc=$?
		kill "$dog"
		how=done
		[ ! -e "$D/$id.late" ] || how=late
		report "$id" "$rc" "$how"
		;;
	quit)
		for f in "$D"/*.pid; do
			[ ! -e "$f" ] || kill -KILL "-$(cat "$f")"
		done
		exit 0
		;;
	esac
done
"""


def _checked_timeout(timeout):
    # The guest's sleep takes no "inf": a program without an end is one
    # to spawn and stop.
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout)
            and timeout >= 0):
        raise ValueError("a timeout is a number of seconds >= 0, not %r"
                         % (timeout,))
    return timeout


class BadSetup(ValueError):
    """A kernel, module source or socket a guest cannot use; the message
    says why."""


class AgentLost(RuntimeError):
    """The guest's agent stopped answering, or QEMU ended: the guest
    cannot run anything more."""


@dataclasses.dataclass(frozen=True)
class Result:
    """How a program in the guest ended."""

    #: its exit status (128 + N when signal N ended it)
    status: int
    #: what it wrote, stdout and stderr together
    output: str
    #: whether it was still running when its time was up, and was stopped
    stopped: bool = False

    def check(self):
        """This result, if the status is 0; else :class:`CommandFailed`."""
        if self.status != 0:
            raise CommandFailed(self)
        return self


class CommandFailed(Exception):
    """A program ended with a status other than 0; ``result`` says how."""

    def __init__(self, result):
        super().__init__("exit status %d; output:\n%s"
                         % (result.status, result.output))
        self.result = result


class CommandTimeout(TimeoutError):
    """A command was still running when its time was up; it was stopped
    and ``result`` holds what it wrote until then."""

    def __init__(self, command, timeout, result):
        super().__init__("%r still ran after %g s (stopped, status %d); "
                         "output:\n%s" % (command, timeout, result.status,
                                          result.output))
        self.result = result


class GuestProcess:
    """A program started by :meth:`Guest.spawn`, running in the guest until
    it ends or is stopped. A context manager: leaving the block stops it."""

    def __init__(self, guest, ident, command):
        self._guest = guest
        self.ident = ident
        self.command = command
        #: the :class:`Result`, once it was waited for or stopped
        self.result = None

    def wait(self, timeout) -> Result:
        """Wait for the program to end by itself, ``timeout`` seconds at
        most (then it is stopped, and ``stopped`` is set); its result."""
        if self.result is None:
            self.result = self._guest._finish(self.ident,
                                              _checked_timeout(timeout))
        return self.result

    def stop(self) -> Result:
        """End the program and its children now (SIGTERM to its process
        group, SIGKILL 5 s later); its result. A program that ended
        already is not stopped, only asked for its result."""
        return self.wait(0)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.result is None and self._guest.alive():
            result = self.stop()
            if exc is not None and hasattr(exc, "add_note"):
                # The program's output often says why the block failed.
                exc.add_note("guest program %r (stopped, status %d) wrote:"
                             "\n%s" % (self.command[:60], result.status,
                                       result.output))


class Guest:
    """A QEMU guest with vgpio.ko attached to every backend in ``sockets``.

    :param kernel: the Debian kernel to boot: a series (``"6.1"``,
        ``"6.12"``), a kernel image's path, or None for the newest
        installed series
    :param module_src: vgpio.ko's sources (the checkout's ``kernel/``);
        None looks for them as ``vgpio-guest`` does
    :param timeout: seconds the boot and the hot-plug may take
    :param say: called with each step of the boot and each hot-plug
        change (one line of text); every line is also kept in :attr:`log`
    :param stderr: where QEMU's own complaints go (a file); None: this
        process's stderr
    :raises BadSetup: at once, for a kernel, source or socket that cannot
        be used
    """

    def __init__(self, sockets, kernel=None, module_src=None,
                 timeout=BOOT_TIMEOUT, say=None, stderr=None):
        try:
            self.sockets = guest_cli.check_sockets(sockets)
            self.kernel = (kernel if isinstance(kernel, debian_images.Kernel)
                           else debian_images.resolve(kernel))
        except (guest_cli.BadInput, debian_images.UnknownKernel) as exc:
            raise BadSetup(str(exc)) from None
        src = module_src or module_cache.find_sources()
        if src is None or not os.path.isfile(os.path.join(src, "Kbuild")):
            raise BadSetup("no vgpio.ko sources %s: give the checkout's "
                           "kernel/ directory" % ("at %s" % src if src
                                                  else "found"))
        self.module_src = os.path.abspath(src)
        self.timeout = timeout
        #: every step reported, in order
        self.log = []
        self._say = say
        self._stderr = stderr
        self._lock = threading.Lock()
        self._next_id = 0
        self._work = self._console = self._qmp = self._hotplug = None
        self._lost = None

    def _report(self, message):
        self.log.append(message)
        if self._say is not None:
            self._say(message)

    # -- boot and shut-down ---------------------------------------------------

    def start(self):
        """Build what is missing, boot, attach every backend, start the
        agent; returns the guest.

        :raises GuestFailed: when the guest does not come up within
            ``timeout`` (the message ends with its console's last lines)
        """
        module = module_cache.module(self.module_src, self.kernel.release,
                                     self.kernel.kdir, self._report)
        self._work = tempfile.mkdtemp(prefix="vgpio-guest-")
        try:
            self._boot(module)
        except BaseException:
            self.close()
            raise
        return self

    def _boot(self, module):
        initrd = guest_initramfs.build(
            os.path.join(self._work, "initrd.gz"), self.kernel.release,
            module, len(self.sockets), AGENT)
        qmp_path = os.path.join(self._work, "qmp.sock")
        cmd = guest_cli.qemu_command(self.kernel, initrd, qmp_path,
                                     quiet=True)
        start = time.monotonic()
        deadline = start + self.timeout
        self._report("[boot] QEMU (TCG) with Debian %s, %d device(s) to "
                     "attach" % (self.kernel.release, len(self.sockets)))
        self._console = PassthroughGuest(
            cmd, stderr=self._stderr,
            preexec_fn=guest_cli._die_with_parent)
        try:
            self._qmp = guest_cli.connect_qmp(qmp_path, self._console,
                                              deadline)
            guest_cli.wait_for(self._console, guest_initramfs.LOADED,
                               deadline)
            self._hotplug = Hotplug(self._qmp, self.sockets, self._report)
            self._hotplug.start()
            try:
                guest_cli.wait_for(self._console, guest_initramfs.CHIPS_UP,
                                   deadline)
            except TimeoutError:
                raise GuestFailed("no chip after %.0f s: %s" % (
                    self.timeout, self._hotplug.why_unplugged())) from None
            guest_cli.wait_for(self._console, READY, deadline)
        except TimeoutError:
            raise GuestFailed(
                "the guest did not boot within %.0f s; last console "
                "lines:\n%s" % (self.timeout,
                                "\n".join(self._console.lines[-20:]))) \
                from None
        self._report("[boot] %d chip(s) up after %.1f s"
                     % (len(self.sockets), time.monotonic() - start))

    def alive(self):
        """Whether the guest runs and its agent answers."""
        return (self._console is not None and self._lost is None and
                self._console.proc.poll() is None)

    def close(self):
        """Stop every program, power the guest off (kill QEMU if it does
        not go), remove the boot's files. Nothing of it is left."""
        try:
            if self.alive():
                with self._lock:
                    try:
                        self._type("quit")
                        self._console.proc.wait(guest_cli.POWEROFF_TIMEOUT)
                    except Exception as exc:
                        self._report("QEMU did not power off (%s); killed"
                                     % exc)
        finally:
            if self._hotplug is not None:
                self._hotplug.stop()
            if self._console is not None:
                self._console.kill()
            if self._qmp is not None:
                self._qmp.close()
            if self._work is not None:
                shutil.rmtree(self._work, ignore_errors=True)
            self._hotplug = self._qmp = self._work = None

    def __enter__(self):
        if self._console is None:
            self.start()
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- programs -------------------------------------------------------------

    def run(self, command, timeout=RUN_TIMEOUT) -> Result:
        """Run ``command`` (sh) in the guest and wait for it to end.

        :raises CommandTimeout: when it still runs after ``timeout``
            seconds (it is stopped first)
        :raises AgentLost: when the guest no longer answers
        """
        _checked_timeout(timeout)
        result = self._finish(self._start(command), timeout)
        if result.stopped:
            raise CommandTimeout(command, timeout, result)
        return result

    def spawn(self, command) -> GuestProcess:
        """Start ``command`` (sh) in the guest in the background; it runs
        until it ends or the :class:`GuestProcess` returned stops it."""
        return GuestProcess(self, self._start(command), command)

    def _start(self, command):
        """Send ``command`` and start it; its request id."""
        text = base64.b64encode(command.encode()).decode()
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            for at in range(0, len(text), CHUNK) or [0]:
                self._ask("put %d %s" % (ident, text[at:at + CHUNK]),
                          PUT + str(ident))
            self._ask("start %d" % ident, STARTED + str(ident))
        return ident

    def _finish(self, ident, timeout):
        """Wait for request ``ident`` to end (``timeout`` seconds, then it
        is stopped); its Result."""
        with self._lock:
            deadline = time.monotonic() + timeout + ANSWER_MARGIN
            self._ask("finish %d %.3f" % (ident, timeout),
                      OUTPUT + str(ident), deadline)
            data = []
            while True:
                line = self._line(deadline)
                if line.startswith(DATA):
                    data.append(line[len(DATA):])
                elif line.startswith(END + "%d " % ident):
                    status, how = line.split()[2:4]
                    break
        output = base64.b64decode("".join(data)).decode(errors="replace")
        return Result(int(status), output, stopped=how == "late")

    # -- the console ----------------------------------------------------------

    def _type(self, line):
        if not self.alive():
            raise AgentLost(self._lost or "the guest is not running")
        try:
            self._console.proc.stdin.write(line.encode() + b"\n")
            self._console.proc.stdin.flush()
        except (OSError, ValueError) as exc:
            self._lose("QEMU's console cannot be written: %s" % exc)

    def _ask(self, request, answer, deadline=None):
        """Type ``request``, read up to the line ``answer``; other lines
        are not the agent's and are skipped."""
        if deadline is None:
            deadline = time.monotonic() + ANSWER_MARGIN
        self._type(request)
        while self._line(deadline) != answer:
            pass

    def _line(self, deadline):
        try:
            line = self._console.read_line(
                max(deadline - time.monotonic(), 0.01))
        except TimeoutError:
            self._lose("the guest's agent did not answer in time; last "
                       "console lines:\n%s"
                       % "\n".join(self._console.lines[-10:]))
        if line is None:
            self._lose("QEMU exited (status %s)" % self._console.proc.wait())
        return line

    def _lose(self, why):
        self._lost = why
        self._report("agent lost: %s" % why)
        raise AgentLost(why)
