"""The device checker: a vhost-user GPIO backend (virtio device ID 41)
against every device-side statement of the virtio 1.4 GPIO section it
can observe.

It takes the guest's place (:mod:`.frontend`): the vhost-user steps a
GPIO front end takes, the config space, requests of every type with
valid and invalid lines and values, the line names, and eventq buffers
through enable, trigger and disable. What it sees is noted against the
requirements of :mod:`.requirements`; :class:`~.results.Results` turns
that into pass, fail or not applicable.

A device's inputs change only from outside. With a control socket
speaking the backend's control protocol (``{"cmd": "set_input", "line":
N, "level": 0|1}``, :mod:`virtio_gpio.vhost_user.control_server`) the
checker drives them and checks edges, latching and levels; without one,
the checks that need an input change are not applicable.

The checker drives line 0 as an output and the next line as an input
with interrupts: run it against a simulated device, or hardware where
that is harmless.
"""

import dataclasses
import socket
from typing import Dict, Optional

from ..vhost_user.control import send_control
from ..vhost_user.protocol import (F_INDIRECT_DESC, F_PROTOCOL_FEATURES,
                                   F_VERSION_1, PF_CONFIG, PF_MQ, PF_REPLY_ACK,
                                   Request)
from ..wire.standard import (CONFIG, F_IRQ, IRQ_REQUEST, REQUEST, Direction,
                             IrqStatus, IrqType, Msg, Status)
from .frontend import BackendHungUp, Chain, FrontEnd, FrontEndError
from .requirements import NEEDS_CONTROL, NEEDS_IRQ, REQUIREMENTS
from .results import Results

#: how long the checker waits for an answer unless told
TIMEOUT = 2.0
#: the largest names block fetched (the spec sets no bound)
NAMES_LIMIT = 1 << 20
#: the size of each queue
QUEUE_SIZE = 64
#: unanswered requests in a row after which the backend is given up on
SILENT_LIMIT = 3
#: the buffer a device without names gets for GET_LINE_NAMES
NO_NAMES_ROOM = 64

IRQ_BIT = 1 << F_IRQ
OK, ERR = Status.OK, Status.ERR
VALID, INVALID = IrqStatus.VALID, IrqStatus.INVALID

#: the values each request's response may carry when it succeeds
VALUES = {Msg.GET_DIRECTION: set(Direction), Msg.GET_VALUE: {0, 1},
          Msg.SET_DIRECTION: {0}, Msg.SET_VALUE: {0}, Msg.SET_IRQ_TYPE: {0}}
#: ids of the eventq checks, not reached when the eventq gets stuck
EVENTQ = [r.id for r in REQUIREMENTS if NEEDS_IRQ in r.needs.split()]
#: the ids of requests' line checks, not reached without a line
LINE_CHECKS = ("V-DX-1", "V-DX-5", "V-DX-6", "V-DX-8", "V-D-5", "V-D-17")


class CannotConnect(Exception):
    """Nothing accepts on the socket (or the control socket)."""


class _Stop(Exception):
    """The backend cannot be checked any further."""


class _LineStuck(Exception):
    """The device keeps a line's eventq buffer: the eventq checks end."""


class ControlError(Exception):
    """The control socket refused or failed a command."""


def _name(msg):
    try:
        return Msg(msg).name
    except ValueError:
        return "type %#06x" % msg


@dataclasses.dataclass
class Answer:
    """A request's chain as the device returned it."""

    chain: Chain
    #: the bytes the device claims to have written
    data: bytes

    @property
    def status(self):
        return self.data[0] if self.data else None

    @property
    def value(self):
        return self.data[1] if len(self.data) >= 2 else None

    def __str__(self):
        return "%s %s -> %s (used %d)" % (self.chain.label,
                                          self.chain.out.hex(),
                                          self.data.hex() or "nothing",
                                          self.chain.used_len)


class DeviceChecker:
    """Checks the backend on ``socket_path``.

    :param control: the backend's control socket, to drive inputs
    :param device: the device's name on a control socket serving several
    :param timeout: seconds to wait for any answer
    :param hold: seconds a buffer must stay with the device to count as
        held (default: a quarter of ``timeout``, at most half a second)
    """

    def __init__(self, socket_path, control=None, device=None,
                 timeout=TIMEOUT, hold=None):
        self.socket_path = socket_path
        self.control = control
        self.device = device
        self.timeout = timeout
        self.hold = min(0.5, timeout / 4) if hold is None else hold
        self.results = Results()
        self.front: Optional[FrontEnd] = None
        self.irq = False
        #: the backend offers VIRTIO_RING_F_INDIRECT_DESC (negotiated)
        self.indirect = False
        self.ngpio = 0
        self.names_size = 0
        self.silent = 0
        #: line -> its eventq chain the device holds
        self.held: Dict[int, Chain] = {}

    # -- the run -----------------------------------------------------------

    def run(self) -> Results:
        """Check everything; raises CannotConnect when there is nothing
        to check."""
        r = self.results
        if self.control is not None:
            self._reach_control()
        try:
            self.front = FrontEnd.connect(self.socket_path, self.timeout)
        except OSError as exc:
            raise CannotConnect("cannot connect to %s: %s"
                                % (self.socket_path, exc.strerror or exc)) \
                from None
        r.not_applicable("V-D-6", "a permission: nothing a device does "
                         "breaks it")
        r.not_applicable("V-D-15", "a judgement of meaning, not an "
                         "observation")
        if self.control is None:
            for requirement in REQUIREMENTS:
                if NEEDS_CONTROL in requirement.needs.split():
                    r.not_applicable(requirement.id, "needs --control: the "
                                     "checker cannot change the device's "
                                     "inputs")
        try:
            self._vhost_user()
            self._config()
            self._requestq()
            self._names()
            self._eventq()
            self._indirect()
            self._leftovers()
        except (_Stop, FrontEndError) as stop:
            # FrontEndError: the front end's own limits (its descriptors or
            # memory all with the device), not a requirement broken.
            for requirement in REQUIREMENTS:
                r.not_applicable(requirement.id, "not reached: %s" % stop)
        finally:
            self.front.close()
        return r

    def _reach_control(self):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(self.timeout)
        try:
            probe.connect(self.control)
        except OSError as exc:
            raise CannotConnect("cannot connect to the control socket %s: %s"
                                % (self.control, exc.strerror or exc)) \
                from None
        finally:
            probe.close()

    # -- vhost-user ----------------------------------------------------------

    def _vhost_user(self):
        r, front = self.results, self.front
        try:
            front.send(Request.SET_OWNER)
            features = front.get_features()
        except FrontEndError as exc:
            r.bad("VU-1", "SET_OWNER, GET_FEATURES: %s" % exc)
            raise _Stop("the backend did not answer GET_FEATURES") from None
        r.check("VU-1", features & F_VERSION_1 and
                features & F_PROTOCOL_FEATURES,
                "GET_FEATURES %#018x" % features)
        if not features & F_PROTOCOL_FEATURES:
            raise _Stop("without VHOST_USER_F_PROTOCOL_FEATURES there is no "
                        "GET_CONFIG")
        self.irq = bool(features & IRQ_BIT)
        self.indirect = bool(features & F_INDIRECT_DESC)
        if not self.indirect:
            r.not_applicable("VQ-3", "the device does not offer "
                             "VIRTIO_RING_F_INDIRECT_DESC")
        if not self.irq:
            for key in EVENTQ + ["VU-3"]:
                r.not_applicable(key, "the device does not offer "
                                 "VIRTIO_GPIO_F_IRQ")
        try:
            offered = front.get_protocol_features()
        except FrontEndError as exc:
            r.bad("VU-2", "GET_PROTOCOL_FEATURES: %s" % exc)
            raise _Stop("no protocol features") from None
        r.check("VU-2", offered & PF_CONFIG,
                "GET_PROTOCOL_FEATURES %#x" % offered)
        if not offered & PF_CONFIG:
            raise _Stop("without the CONFIG protocol feature the config "
                        "cannot be read")
        front.set_protocol_features(offered & (PF_REPLY_ACK | PF_CONFIG |
                                               PF_MQ))
        try:
            if self.irq and not offered & PF_MQ:
                r.not_applicable("VU-3", "no MQ protocol feature: "
                                 "GET_QUEUE_NUM may not be sent")
            elif self.irq:
                queues = front.get_queue_num()
                r.check("VU-3", queues >= 2, "GET_QUEUE_NUM %d" % queues)
        except FrontEndError as exc:
            r.bad("VU-3", "GET_QUEUE_NUM: %s" % exc)
            raise _Stop("the backend did not answer GET_QUEUE_NUM") from None
        try:
            offset, size, flags, data = front.get_config(CONFIG.size)
        except FrontEndError as exc:
            r.bad("VU-4", "GET_CONFIG: %s" % exc)
            raise _Stop("the backend did not answer GET_CONFIG") from None
        r.check("VU-4", (offset, size, len(data)) == (0, CONFIG.size,
                                                      CONFIG.size),
                "GET_CONFIG(0, 8) -> offset %d, size %d, flags %d, %s"
                % (offset, size, flags, data.hex() or "no bytes"))
        if len(data) < CONFIG.size:
            raise _Stop("no config")
        self.config_bytes = data[:CONFIG.size]
        self._setup(features)

    def _setup(self, offered):
        r, front = self.results, self.front
        features = F_VERSION_1 | F_PROTOCOL_FEATURES | (
            offered & (IRQ_BIT | F_INDIRECT_DESC))
        steps = ("SET_VRING_NUM", "SET_VRING_BASE", "SET_VRING_ADDR",
                 "SET_VRING_CALL", "SET_VRING_KICK", "SET_VRING_ENABLE")
        acks = []
        try:
            acks.append(("SET_FEATURES %#x" % features,
                         front.set_features(features)))
            acks.append(("SET_MEM_TABLE", front.set_mem_table()))
            for index in (0, 1) if self.irq else (0,):
                acks += [("%s %d" % (step, index), ack) for step, ack in
                         zip(steps, front.setup_vring(index, QUEUE_SIZE))]
            if not front.protocol_features & PF_REPLY_ACK:
                front.get_features()
                r.ok("VU-5", "no REPLY_ACK to ask for; the backend answers "
                     "GET_FEATURES after the setup")
        except FrontEndError as exc:
            r.bad("VU-5", "after %s: %s" % (
                ", ".join(step for step, _ in acks) or "nothing", exc))
            raise _Stop("the setup did not complete") from None
        for step, ack in acks:
            if ack is not None:
                r.check("VU-5", ack == 0, "%s: status %d" % (step, ack))

    # -- config ------------------------------------------------------------

    def _config(self):
        r = self.results
        seen = "config %s" % self.config_bytes.hex()
        self.ngpio, self.names_size = CONFIG.unpack(self.config_bytes)
        r.check("V-D-2", self.ngpio != 0, "%s: ngpio %d" % (seen, self.ngpio))
        r.check("V-DX-2", self.config_bytes[2:4] == b"\0\0",
                "%s: padding %s" % (seen, self.config_bytes[2:4].hex()))
        if self.ngpio == 0:
            for key in LINE_CHECKS + tuple(EVENTQ):
                r.not_applicable(key, "ngpio is 0: no line to use")
        self.out_line = 0
        self.in_line = 1 if self.ngpio > 1 else 0

    # -- requests ----------------------------------------------------------

    def request(self, msg, gpio=0, value=0, room=2, indirect=False,
                in_ring=0, about="V-DX-4") -> Optional[Answer]:
        """Send one request with ``room`` bytes for the response, in an
        indirect table if asked (all of it, or what follows the first
        ``in_ring`` parts); the answer, or None when the device did not
        return it in time (which breaks ``about``)."""
        chain = self.front.post_chain(0, REQUEST.pack(msg, gpio, value),
                                      room, indirect=indirect,
                                      in_ring=in_ring)
        chain.label = "%s(%d, %d)%s" % (
            _name(msg), gpio, value, "" if not indirect else
            " in a table" if not in_ring else ", its response in a table")
        self.front.notify(0)
        return self._answer(chain, about)

    def _answer(self, chain, about="V-DX-4"):
        r = self.results
        try:
            returned = self.front.wait(chain)
        except BackendHungUp as exc:
            r.bad(about, "%s %s: %s" % (chain.label, chain.out.hex(), exc))
            raise _Stop("the backend hung up") from None
        self._unexpected()
        if not returned:
            chain.abandoned = True
            r.bad(about, "%s %s: not returned within %g s"
                  % (chain.label, chain.out.hex(), self.timeout))
            self.silent += 1
            if self.silent >= SILENT_LIMIT:
                raise _Stop("%d requests in a row were not answered"
                            % self.silent)
            return None
        self.silent = 0
        answer = Answer(chain, self.front.response(chain))
        r.check("V-DX-4", chain.notified, "%s%s" % (
            answer, "" if chain.notified else
            ": returned without a call eventfd signal"))
        r.check("VQ-1", chain.used_len <= chain.in_len,
                "%s, room %d" % (answer, chain.in_len))
        return answer

    def std(self, msg, gpio=0, value=0, fails=None) -> Optional[Answer]:
        """A request with a 2-byte response, its fields checked; with
        ``fails`` (a requirement id), the request must fail."""
        r = self.results
        answer = self.request(msg, gpio, value)
        if answer is None:
            return None
        r.check("V-D-1", answer.chain.used_len >= 2, str(answer))
        if answer.status is None:
            return answer
        r.check("V-D-22", answer.status in (OK, ERR), str(answer))
        if fails is not None:
            r.check(fails, answer.status == ERR, str(answer))
        elif answer.status == OK and answer.value is not None \
                and msg in VALUES:
            r.check("V-DX-5", answer.value in VALUES[msg], str(answer))
        return answer

    def _done(self, answer):
        """Whether a request succeeded: its effects can be checked."""
        return (answer is not None and answer.status == OK and
                answer.value is not None)

    def _refused(self, keys, answer, what):
        for key in keys:
            self.results.not_applicable(key, "%s did not succeed: %s" % (
                what, answer if answer is not None else "no answer"))

    def _requestq(self):
        if self.ngpio:
            self._lines()
        # Lines the device does not have.
        kinds = [(Msg.GET_DIRECTION, 0), (Msg.SET_DIRECTION, Direction.IN),
                 (Msg.GET_VALUE, 0), (Msg.SET_VALUE, 0)]
        if self.irq:
            kinds.append((Msg.SET_IRQ_TYPE, IrqType.NONE))
        for msg, value in kinds:
            self.std(msg, self.ngpio, value, fails="V-DX-7")
        if self.ngpio < 0xFFFF:
            self.std(Msg.GET_VALUE, 0xFFFF, fails="V-DX-7")
        # Values and types the section does not define.
        if self.ngpio:
            out = self.out_line
            self.std(Msg.SET_DIRECTION, out, 3, fails="V-DX-8")
            self.std(Msg.SET_VALUE, out, 2, fails="V-DX-8")
            self.std(Msg.SET_DIRECTION, out, Direction.NONE)
            if self.irq:
                line = self.in_line
                self.std(Msg.SET_DIRECTION, line, Direction.IN)
                self.std(Msg.SET_IRQ_TYPE, line, 5, fails="V-DX-8")
                self.std(Msg.SET_IRQ_TYPE, line, IrqType.NONE)
        for msg in (0x0000, 0x0007):
            self.std(msg, 0, 0, fails="V-DX-9")

    def _lines(self):
        r = self.results
        out = self.out_line
        # The first request: a look at line 0, which changes nothing.
        first = self.std(Msg.GET_DIRECTION, 0)
        last = (self.std(Msg.GET_DIRECTION, self.ngpio - 1)
                if self.ngpio > 1 else first)
        if last is not None and last.status is not None:
            r.check("V-DX-1", last.status == OK,
                    "ngpio %d: %s" % (self.ngpio, last))
        if self._direction(out, Direction.IN):
            self.std(Msg.GET_VALUE, out)
        self._output(out)
        self._direction(out, Direction.NONE)

    def _direction(self, line, direction, done=None):
        """SET_DIRECTION (unless ``done`` is its answer), then
        GET_DIRECTION must say so (V-DX-6); whether it was set."""
        if done is None:
            done = self.std(Msg.SET_DIRECTION, line, direction)
        if not self._done(done):
            self._refused(["V-DX-6"], done, "SET_DIRECTION")
            return False
        got = self.std(Msg.GET_DIRECTION, line)
        if self._done(got):
            self.results.check("V-DX-6", got.value == direction,
                               "%s after SET_DIRECTION %s"
                               % (got, direction.name))
        return True

    def _output(self, out):
        """A line's value set before it is an output, then changed while
        it is one (V-D-17); then four requests for it at once (V-D-5)."""
        r = self.results
        before = self.std(Msg.SET_VALUE, out, 1)
        made = self.std(Msg.SET_DIRECTION, out, Direction.OUT)
        self._direction(out, Direction.OUT, done=made)
        if not (self._done(before) and self._done(made)):
            self._refused(["V-D-17", "V-D-5"], made if self._done(before)
                          else before, "SET_VALUE 1, SET_DIRECTION OUT")
            return
        got = self.std(Msg.GET_VALUE, out)
        if self._done(got):
            r.check("V-D-17", got.value == 1, "%s: SET_VALUE 1 came before "
                    "SET_DIRECTION OUT" % got)
        if self._done(self.std(Msg.SET_VALUE, out, 0)):
            got = self.std(Msg.GET_VALUE, out)
            if self._done(got):
                r.check("V-D-17", got.value == 0, "%s: SET_VALUE 0 on the "
                        "output" % got)
        self._in_order(out)

    def _in_order(self, out):
        r = self.results
        batch = [(Msg.SET_VALUE, 1), (Msg.GET_VALUE, 0), (Msg.SET_VALUE, 0),
                 (Msg.GET_VALUE, 0)]
        chains = []
        for msg, value in batch:
            chain = self.front.post_chain(0, REQUEST.pack(msg, out, value), 2)
            chain.label = "%s(%d, %d)" % (_name(msg), out, value)
            chains.append(chain)
        self.front.notify(0)
        answers = [self._answer(chain) for chain in chains]
        if None in answers:
            return
        order = [chain.order for chain in chains]
        got = [answers[1].value, answers[3].value]
        seen = "; ".join(str(a) for a in answers)
        r.check("V-D-5", order == sorted(order) and got == [1, 0],
                "made available together, returned in the order %s: %s"
                % ([chains.index(c) for c in sorted(chains,
                                                      key=lambda c: c.order)],
                   seen))

    # -- names -------------------------------------------------------------

    def _names(self):
        r = self.results
        size = self.names_size
        about = ("V-D-4", "V-D-13", "V-D-14", "V-D-16", "V-DX-3")
        if size == 0:
            for key in about:
                r.not_applicable(key, "gpio_names_size is 0: the device has "
                                 "no names")
            answer = self.request(Msg.GET_LINE_NAMES, room=1 + NO_NAMES_ROOM)
            if answer is None or answer.status is None:
                return
            r.check("V-D-22", answer.status in (OK, ERR), str(answer))
            names = answer.data[1:] if answer.status == OK else b""
            r.check("V-D-3", not names.strip(b"\0"),
                    "gpio_names_size 0: %s" % answer)
            return
        r.not_applicable("V-D-3", "gpio_names_size is %d: the device has "
                         "names" % size)
        if size > NAMES_LIMIT:
            for key in about:
                r.not_applicable(key, "gpio_names_size is %d, more than the "
                                 "checker fetches (%d)" % (size, NAMES_LIMIT))
            return
        answer = self.request(Msg.GET_LINE_NAMES, room=1 + size)
        if answer is None or answer.status is None:
            return
        r.check("V-D-22", answer.status in (OK, ERR), str(answer))
        r.check("V-D-16", answer.status == OK,
                "gpio_names_size %d: %s" % (size, answer))
        if answer.status != OK:
            return
        block = answer.data[1:]
        seen = "gpio_names_size %d, ngpio %d: %s" % (size, self.ngpio, answer)
        r.check("V-D-4", answer.chain.used_len == 1 + size, seen)
        names = block.split(b"\0")
        terminated = block.endswith(b"\0")
        if terminated:
            names.pop()
        r.check("V-D-13", len(names) == self.ngpio,
                "%d strings: %s" % (len(names), seen))
        given = [name for name in names if name]
        r.check("V-D-14", terminated and len(set(given)) == len(given), seen)
        r.check("V-DX-3", all(byte < 0x80 for byte in block), seen)

    # -- eventq ------------------------------------------------------------

    def _eventq(self):
        r = self.results
        if not self.irq or not self.ngpio:
            return
        line = self.in_line
        made = self.std(Msg.SET_DIRECTION, line, Direction.IN)
        if not self._done(made):
            self._refused(EVENTQ, made, "SET_DIRECTION IN")
            return
        try:
            self._not_enabled(line)
            self._held_then_disabled(line)
            self._levels(line)
            if self.control is not None:
                self._latched(line)
                self._edges(line)
                self._level_not_latched(line)
                self._latch_discarded(line)
            self._direction_none(line)
        except _LineStuck as exc:
            for key in EVENTQ:
                r.not_applicable(key, "not reached: %s" % exc)
        except ControlError as exc:
            for key in EVENTQ:
                r.not_applicable(key, "not reached: the control socket "
                                 "failed: %s" % exc)

    def set_irq(self, line, kind):
        """SET_IRQ_TYPE; whether it succeeded."""
        return self._done(self.std(Msg.SET_IRQ_TYPE, line, kind))

    def post_irq(self, line):
        """Queue an eventq buffer for ``line``: its interrupt unmasked."""
        if line in self.held:
            raise _LineStuck("line %d's eventq buffer is still with the "
                             "device" % line)
        chain = self.front.post_chain(1, IRQ_REQUEST.pack(line), 1)
        chain.label = "eventq buffer of line %d" % line
        self.held[line] = chain
        self.front.notify(1)
        return chain

    def back(self, line, wait):
        """The line's eventq buffer if the device returns it within
        ``wait`` seconds, as an :class:`Answer`; None while held."""
        chain = self.held[line]
        try:
            returned = self.front.wait(chain, wait)
        except BackendHungUp as exc:
            self.results.bad("V-DX-11", "%s: %s" % (chain.label, exc))
            raise _Stop("the backend hung up") from None
        self._unexpected()
        if not returned:
            return None
        del self.held[line]
        answer = Answer(chain, self.front.response(chain))
        self.results.check("VQ-1", chain.used_len <= chain.in_len,
                           "%s, room %d" % (answer, chain.in_len))
        return answer

    def drive(self, line, level):
        """Drive input ``line`` to ``level`` through the control socket."""
        command = {"cmd": "set_input", "line": line, "level": level}
        if self.device is not None:
            command["device"] = self.device
        try:
            answer = send_control(self.control, command, timeout=self.timeout)
        except (OSError, ValueError) as exc:
            raise ControlError("set_input line %d level %d: %s"
                               % (line, level, exc)) from None
        if not isinstance(answer, dict) or not answer.get("ok"):
            raise ControlError("set_input line %d level %d: %s"
                               % (line, level, answer))

    def disable(self, line):
        """SET_IRQ_TYPE NONE; a buffer the device holds for the line must
        come back INVALID (V-D-12)."""
        r = self.results
        self.set_irq(line, IrqType.NONE)
        if line not in self.held:
            return
        answer = self.back(line, self.timeout)
        if answer is None:
            r.bad("V-D-12", "%s: held %g s after SET_IRQ_TYPE NONE"
                  % (self.held[line].label, self.timeout))
            raise _LineStuck("the device keeps line %d's eventq buffer"
                             % line)
        r.check("V-D-12", answer.status == INVALID and
                answer.chain.used_len == 1,
                "%s after SET_IRQ_TYPE NONE" % answer)

    def _valid(self, key, answer, what):
        """A buffer that should have come back VALID."""
        if answer is None:
            self.results.bad(key, "%s: held %g s" % (what, self.timeout))
            return False
        self.results.check(key, answer.status == VALID, "%s: %s"
                           % (answer, what))
        if answer.status == VALID:
            self.results.check("V-DX-10", answer.chain.used_len == 1,
                               "%s: %s" % (answer, what))
        return answer.status == VALID

    def _still_held(self, key, answer, what):
        """A buffer that should have stayed with the device: an event
        breaks ``key``; any other return, V-DX-11."""
        if answer is None:
            self.results.ok(key, "%s: held %g s" % (what, self.hold))
        elif answer.status == VALID:
            self.results.bad(key, "%s: %s" % (answer, what))
        else:
            self.results.bad("V-DX-11", "%s: %s, neither triggered nor "
                             "disabled" % (answer, what))

    def _not_enabled(self, line):
        r = self.results
        self.set_irq(line, IrqType.NONE)
        self.post_irq(line)
        answer = self.back(line, self.timeout)
        what = "interrupt not enabled"
        if answer is None:
            r.bad("V-D-21", "line %d, %s: held %g s"
                  % (line, what, self.timeout))
            self.set_irq(line, IrqType.EDGE_RISING)
            self.disable(line)
            return
        r.check("V-D-21", answer.status == INVALID and
                answer.chain.used_len == 1, "%s: %s" % (answer, what))
        if answer.status == VALID:
            r.bad("V-D-11", "%s: %s" % (answer, what))

    def _held_then_disabled(self, line):
        if self.control is not None:
            self.drive(line, 0)
        if not self.set_irq(line, IrqType.EDGE_RISING):
            return
        self.post_irq(line)
        what = "EDGE_RISING, no edge" + (
            "" if self.control else " (nothing drove the line)")
        answer = self.back(line, self.hold)
        if answer is None:
            self.results.ok("V-DX-11", "%s: held %g s" % (what, self.hold))
        self._still_held("V-D-11", answer, what)
        self.disable(line)

    def _levels(self, line):
        """Level trigger types on a line at that level: VALID at once,
        and again when queued again while the level holds."""
        if self.control is not None:
            levels = (1, 0)
        else:
            got = self.std(Msg.GET_VALUE, line)
            if not self._done(got):
                self._refused(["V-D-19", "V-D-24"], got, "GET_VALUE")
                return
            levels = (got.value,)
        for level in levels:
            if self.control is not None:
                self.drive(line, level)
            kind = IrqType.LEVEL_HIGH if level else IrqType.LEVEL_LOW
            if not self.set_irq(line, kind):
                continue
            what = "%s with the line at %d" % (kind.name, level)
            self.post_irq(line)
            if self._valid("V-D-19", self.back(line, self.timeout), what):
                self.post_irq(line)
                self._valid("V-D-24", self.back(line, self.timeout),
                            what + ", queued again")
            self.disable(line)

    def _latched(self, line):
        self.drive(line, 0)
        if not self.set_irq(line, IrqType.EDGE_RISING):
            return
        self.drive(line, 1)
        self.post_irq(line)
        self._valid("V-D-8", self.back(line, self.timeout),
                    "EDGE_RISING enabled, a rising edge before any buffer "
                    "was queued")
        self.disable(line)

    def _edges(self, line):
        for kind, edges in ((IrqType.EDGE_RISING, ((1, 0), (0, 1))),
                            (IrqType.EDGE_FALLING, ((0, 1), (1, 0))),
                            (IrqType.EDGE_BOTH, ((0, 1), (1, 0)))):
            # The line starts at the level the first edge leaves.
            self.drive(line, edges[0][0])
            if not self.set_irq(line, kind):
                continue
            for start, end in edges:
                if line not in self.held:
                    self.post_irq(line)
                self.drive(line, end)
                what = "%s, line %d -> %d" % (kind.name, start, end)
                fires = kind == IrqType.EDGE_BOTH or \
                    (kind == IrqType.EDGE_RISING) == (end == 1)
                if fires:
                    self._valid("V-DX-10", self.back(line, self.timeout),
                                what)
                else:
                    self._still_held("V-D-11", self.back(line, self.hold),
                                     what)
            if kind == IrqType.EDGE_RISING and line not in self.held:
                # Masked since the event: an edge now is latched.
                self.drive(line, 0)
                self.drive(line, 1)
                self.post_irq(line)
                self._valid("V-D-25", self.back(line, self.timeout),
                            "EDGE_RISING: a rising edge after the event was "
                            "delivered, before the buffer was queued again")
            self.disable(line)

    def _level_not_latched(self, line):
        self.drive(line, 0)
        if not self.set_irq(line, IrqType.LEVEL_HIGH):
            return
        self.drive(line, 1)
        self.drive(line, 0)
        self.post_irq(line)
        self._still_held("V-D-9", self.back(line, self.hold),
                         "LEVEL_HIGH: the line high and low again before "
                         "the buffer was queued")
        self.disable(line)

    def _latch_discarded(self, line):
        self.drive(line, 0)
        if not self.set_irq(line, IrqType.EDGE_RISING):
            return
        self.drive(line, 1)
        self.set_irq(line, IrqType.NONE)
        if not self.set_irq(line, IrqType.EDGE_RISING):
            return
        self.post_irq(line)
        self._still_held("V-D-10", self.back(line, self.hold),
                         "a rising edge while masked, then NONE and "
                         "EDGE_RISING again")
        self.disable(line)

    def _direction_none(self, line):
        r = self.results
        if self.control is not None:
            self.drive(line, 0)
        if not self.set_irq(line, IrqType.EDGE_RISING):
            return
        gone = self.std(Msg.SET_DIRECTION, line, Direction.NONE)
        if self._done(gone):
            got = self.std(Msg.GET_DIRECTION, line)
            if self._done(got):
                r.check("V-DX-6", got.value == Direction.NONE,
                        "%s after SET_DIRECTION NONE" % got)
        back = self.std(Msg.SET_DIRECTION, line, Direction.IN)
        if not (self._done(gone) and self._done(back)):
            self._refused(["V-D-7"], back, "SET_DIRECTION NONE, then IN")
            self.disable(line)
            return
        what = "EDGE_RISING, then SET_DIRECTION NONE and IN"
        self.post_irq(line)
        answer = self.back(line, self.hold)
        if answer is not None:
            r.check("V-D-7", answer.status == INVALID,
                    "%s: %s" % (answer, what))
        elif self.control is None:
            r.not_applicable("V-D-7", "%s: the buffer is held; without "
                             "--control that cannot be told from an enabled "
                             "line's" % what)
        else:
            self.drive(line, 1)
            answer = self.back(line, self.timeout)
            if answer is None:
                r.ok("V-D-7", "%s: held through a rising edge" % what)
            else:
                r.check("V-D-7", answer.status != VALID,
                        "%s: %s, then a rising edge" % (answer, what))
        self.disable(line)

    # -- indirect tables -----------------------------------------------------

    def _indirect(self):
        """Chains in indirect tables, last: a backend that offers the
        feature and cannot walk them may hang up, and every other check
        is done by then."""
        r = self.results
        if not self.indirect:
            return
        if not self.ngpio:
            r.not_applicable("VQ-3", "ngpio is 0: no line to ask about")
            return
        line = self.out_line
        direct = self.request(Msg.GET_DIRECTION, line)
        if direct is None or direct.status != OK:
            self._refused(["VQ-3"], direct, "GET_DIRECTION")
            return
        # All of the chain in a table, then the request in the ring and
        # its response in a table ("zero or more normal chained
        # descriptors followed by a single" indirect one).
        for in_ring in (0, 1):
            answer = self.request(Msg.GET_DIRECTION, line, indirect=True,
                                  in_ring=in_ring, about="VQ-3")
            if answer is not None:
                r.check("VQ-3", answer.data == direct.data,
                        "%s, as %s" % (answer, direct))
        if not self.irq:
            return
        line = self.in_line
        if not self.set_irq(line, IrqType.NONE):
            return
        chain = self.front.post_chain(1, IRQ_REQUEST.pack(line), 1,
                                      indirect=True)
        chain.label = "eventq buffer of line %d in a table" % line
        self.front.notify(1)
        try:
            returned = self.front.wait(chain)
        except BackendHungUp as exc:
            r.bad("VQ-3", "%s: %s" % (chain.label, exc))
            raise _Stop("the backend hung up") from None
        self._unexpected()
        if not returned:
            chain.abandoned = True
            r.bad("VQ-3", "%s, interrupt not enabled: held %g s"
                  % (chain.label, self.timeout))
            return
        answer = Answer(chain, self.front.response(chain))
        r.check("VQ-3", answer.status == INVALID and chain.used_len == 1,
                "%s, interrupt not enabled" % answer)

    # -- what is left --------------------------------------------------------

    def _unexpected(self):
        r = self.results
        for queue, head, length in self.front.unexpected:
            r.bad("VQ-2", "queue %d used element id %d, len %d: no chain "
                  "with that head was with the device" % (queue, head, length))
        self.front.unexpected = []
        for chain in self.front.late:
            r.bad("V-DX-4", "%s %s came back late (used %d), once a later "
                  "request was made available"
                  % (chain.label, chain.out.hex(), chain.used_len))
        self.front.late = []

    def _leftovers(self):
        for index in self.front.vrings:
            self.front.collect(index)
        self._unexpected()
        returned = sum(vring.returned for vring in self.front.vrings.values())
        if not self.results.broken["VQ-2"]:
            self.results.ok("VQ-2", "%d used elements, each a chain the "
                            "device held" % returned)


def check_device(socket_path, **options) -> Results:
    """Check the backend listening on ``socket_path``; ``options`` as
    :class:`DeviceChecker` takes them. Raises CannotConnect."""
    return DeviceChecker(socket_path, **options).run()
