"""Drive a running vgpio-vhost-user from a script or a test: the host side
of the bench.

:class:`Bench` talks to the backend's control socket (its ``--control``),
one connection per call, as ``vgpio-ctl`` does::

    from virtio_gpio.host import Bench

    bench = Bench("/tmp/vgpio.ctl")
    bench.set_input("button", 1)          # a line by name or by number
    bench.wait_for("led", 1, timeout=5)   # the guest drove it: no polling
    with bench.events() as events:
        for event in events:
            print(event.name, event.kind, event.value)

The backend does the waiting and the watching: :meth:`Bench.wait_for` is
answered when the line reaches the level, :meth:`Bench.events` streams
each line event as it happens. The control protocol is described in
Documentation/control-protocol.rst.

Standard library only: guest runners and tests use it without the
compiled core.
"""

import dataclasses
import json
import math
import socket
from typing import Iterator, List

#: seconds any one socket operation may take, unless a Bench says otherwise
DEFAULT_TIMEOUT = 10.0


class BenchError(Exception):
    """The backend refused a command; the message is the backend's."""


class ControlSocketError(OSError):
    """The control socket cannot be reached, does not answer in time, or
    hangs up without an answer. The message names the socket; ``errno`` is
    the system's, when it gave one."""

    def __init__(self, message, errno=None):
        # OSError(errno, message) would print as "[Errno 2] ...": the
        # message alone reads better, and errno stays for callers.
        super().__init__(message)
        self.errno = errno


class _Silence(ControlSocketError):
    """No answer within the time given: a stream's caller may wait on."""


@dataclasses.dataclass(frozen=True)
class InputResult:
    """What :meth:`Bench.set_input` did."""

    #: whether the level changed (False: the line was at it already)
    changed: bool
    #: when the backend drove the line (``time.time()`` of the backend)
    time: float


@dataclasses.dataclass(frozen=True)
class StampedEvent:
    """One line event as the backend streams it (see
    :data:`virtio_gpio.devices.events.KINDS` for the kinds)."""

    #: when it happened (``time.time()`` of the backend)
    time: float
    #: the device's name
    device: str
    #: the line's number
    line: int
    #: the line's name ("" for an unnamed line)
    name: str
    #: ``drive``, ``direction``, ``irq_type``, ``input`` or ``interrupt``
    kind: str
    #: a level for drive, input and interrupt, a word for the others
    value: object
    #: the event as the backend sent it, a dict
    raw: dict = dataclasses.field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, raw):
        return cls(time=raw["time"], device=raw["device"], line=raw["line"],
                   name=raw.get("name", ""), kind=raw["event"],
                   value=raw["value"], raw=raw)


def line_number(state, line) -> int:
    """The number of ``line`` (a number, or a line's name) in a ``state``
    answer; a number is not checked (the backend checks it).

    :raises BenchError: when no line, or more than one, has that name
    """
    if isinstance(line, int) and not isinstance(line, bool):
        return line
    if not isinstance(line, str):
        raise TypeError("a line is a number or a name, not %r" % (line,))
    # "" is what an unnamed line has, not a name
    numbers = [n for n, each in enumerate(state["lines"])
               if line and each["name"] == line]
    if len(numbers) != 1:
        named = ", ".join(each["name"] for each in state["lines"]
                          if each["name"]) or "none"
        raise BenchError("%s has %s line named %r (the names: %s)"
                         % (state["device"], "no" if not numbers else
                            "more than one", line, named))
    return numbers[0]


class _Connection:
    """One connection to the control socket: a command out, JSON lines in."""

    def __init__(self, path, timeout):
        self.path = path
        self.buffer = b""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except socket.timeout:
            self.close()
            raise ControlSocketError(
                "control socket %s: no connection within %g s"
                % (path, timeout)) from None
        except OSError as exc:
            self.close()
            raise ControlSocketError(
                "cannot connect to the control socket %s: %s"
                % (path, exc.strerror or exc), exc.errno) from None

    def send(self, command):
        try:
            self.sock.sendall(json.dumps(command).encode() + b"\n")
        except OSError as exc:
            raise ControlSocketError(
                "control socket %s: sending failed: %s"
                % (self.path, exc.strerror or exc), exc.errno) from None

    def receive(self, timeout):
        """The next JSON line, or None when the backend hung up.

        :param timeout: seconds to wait for it; None waits as long as it
            takes
        """
        self.sock.settimeout(timeout)
        while b"\n" not in self.buffer:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise _Silence("control socket %s: no answer within %g s"
                               % (self.path, timeout)) from None
            except OSError as exc:
                raise ControlSocketError(
                    "control socket %s: %s"
                    % (self.path, exc.strerror or exc), exc.errno) from None
            if not chunk:
                if self.buffer.strip():
                    break  # a last line without its newline
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            answer = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            raise BenchError("control socket %s: not a JSON answer: %r"
                             % (self.path, line[:80])) from None
        if not isinstance(answer, dict):
            raise BenchError("control socket %s: not a JSON object: %r"
                             % (self.path, line[:80]))
        return answer

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _checked(answer, path):
    if answer is None:
        raise ControlSocketError("control socket %s: closed without an answer"
                                 % path)
    if "error" in answer:
        raise BenchError(answer["error"])
    return answer


class EventStream:
    """The line events of a ``subscribe``, as :class:`StampedEvent`; ends
    when the backend stops. Close it (or use it as a context manager) to
    unsubscribe.

    :param timeout: seconds to wait for each event before raising
        :class:`TimeoutError` (the stream stays open); None waits as long
        as it takes
    """

    def __init__(self, connection, timeout, subscribed):
        self._connection = connection
        self.timeout = timeout
        #: the devices heard, by name
        self.subscribed: List[str] = subscribed

    def __iter__(self) -> Iterator[StampedEvent]:
        return self

    def __next__(self) -> StampedEvent:
        if self._connection is None:
            raise StopIteration
        try:
            raw = self._connection.receive(self.timeout)
        except _Silence:
            raise TimeoutError("no line event within %g s"
                               % self.timeout) from None
        if raw is None:
            self.close()
            raise StopIteration
        return StampedEvent.from_dict(raw)

    def close(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class Bench:
    """The backend behind ``control_path``, seen from the host.

    :param device: the device every call addresses (a name, or an index in
        the backend's list) unless the call names another; None addresses
        the only device of a one-device backend
    :param timeout: seconds each socket operation may take (connecting,
        sending, an answer), beyond the waiting ``wait_for`` asks for
    :raises ControlSocketError: from every call, when the socket cannot be
        reached or does not answer
    :raises BenchError: from every call, when the backend refuses it
    """

    def __init__(self, control_path, device=None, timeout=DEFAULT_TIMEOUT):
        self.control_path = str(control_path)
        self.device = device
        self.timeout = timeout

    def _call(self, command, answer_within=None):
        connection = _Connection(self.control_path, self.timeout)
        try:
            connection.send(command)
            return _checked(connection.receive(
                self.timeout if answer_within is None else answer_within),
                self.control_path)
        finally:
            connection.close()

    def _device(self, device):
        device = self.device if device is None else device
        return {} if device is None else {"device": device}

    def line_number(self, line, device=None) -> int:
        """``line`` as a number: a number stays as it is, a name is looked
        up in :meth:`state`."""
        if isinstance(line, int) and not isinstance(line, bool):
            return line
        return line_number(self.state(device), line)

    def set_input(self, line, level, device=None) -> InputResult:
        """Drive input ``line`` (a number or a name) to ``level``; the
        guest hears of it at once."""
        answer = self._call(dict(self._device(device), cmd="set_input",
                                 line=self.line_number(line, device),
                                 level=level))
        return InputResult(changed=answer["changed"], time=answer["time"])

    def state(self, device=None) -> dict:
        """The device's lines, counters, connections and latest events:
        the ``state`` answer."""
        return self._call(dict(self._device(device), cmd="state"))

    def devices(self) -> List[dict]:
        """Every device the backend serves: name, socket, lines, connected."""
        return self._call({"cmd": "devices"})["devices"]

    def wait_for(self, line, level, timeout, device=None) -> float:
        """Return when ``line`` is at ``level`` (at once if it is): the
        backend answers when it gets there, nothing polls.

        :returns: when the line got there (``time.time()`` of the backend)
        :raises TimeoutError: when it does not within ``timeout`` seconds
        """
        if not math.isfinite(timeout):
            raise ValueError("a timeout is a number of seconds, not %r"
                             % (timeout,))
        number = self.line_number(line, device)
        answer = self._call(dict(self._device(device), cmd="wait",
                                 line=number, level=level, timeout=timeout),
                            answer_within=max(0, timeout) + self.timeout)
        if not answer.get("ok"):
            raise TimeoutError("line %s did not reach %s within %g s"
                               % (line, level, timeout))
        return answer["time"]

    def events(self, devices=None, timeout=None) -> EventStream:
        """Subscribe to line events: an iterator of :class:`StampedEvent`.

        :param devices: names of the devices to hear; None hears the
            Bench's device, or every device when the Bench has none
        :param timeout: seconds to wait for each event (then
            :class:`TimeoutError`); None waits as long as it takes
        """
        if devices is None:
            devices = None if self.device is None else [self.device]
        elif not devices:
            raise ValueError("no devices to hear: give None for all")
        command = {"cmd": "subscribe"}
        if devices is not None:
            command["devices"] = list(devices)
        connection = _Connection(self.control_path, self.timeout)
        try:
            connection.send(command)
            answer = _checked(connection.receive(self.timeout),
                              self.control_path)
        except BaseException:
            connection.close()
            raise
        return EventStream(connection, timeout, answer.get("subscribed", []))

    def inject(self, fault, count=1, device=None):
        """Make the device's next ``count`` replies misbehave with
        ``fault``: a :class:`~virtio_gpio.devices.base.Fault` or its value
        (``"drop"``)."""
        self._call(dict(self._device(device), cmd="inject",
                        fault=getattr(fault, "value", fault), count=count))

    def noop(self, on=True, device=None):
        """Answer the guest with the bench's floor (no model work) while
        ``on``; the model again when not."""
        self._call(dict(self._device(device), cmd="noop", on=on))

    def stall(self, on=True, device=None):
        """Leave the guest's requests unanswered on their ring while
        ``on``, as a device that hangs; when not, answer what queued
        meanwhile and serve on. A stall ends with its front end too."""
        self._call(dict(self._device(device), cmd="stall", on=on))

    def stop(self):
        """Shut the backend down."""
        self._call({"cmd": "stop"})
