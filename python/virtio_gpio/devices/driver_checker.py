"""The driver checker: what a guest's driver does against the virtio 1.4
GPIO section's driver requirements, seen from the device.

:class:`DriverChecker` stands in front of a standard device model: every
request chain and eventq chain passes through it on the way to the model,
which answers as it always does. It notes each requirement it could
observe and every time one was broken, with the bytes that broke it; the
report says for each: pass (observed, never broken), fail (with the
evidence), or not applicable (the driver never did anything it covers).
"""

import dataclasses
import json
import os
from typing import Dict, List

from ..wire.standard import (IRQ_REQUEST, REQUEST, RESPONSE, Direction,
                             IrqType, Msg)

#: requirement id -> (the statement, short), the ids of conformance.rst
REQUIREMENTS = {
    "V-RQ-2": "The driver MUST queue both struct virtio_gpio_request and "
              "virtio_gpio_response for every message sent to the device.",
    "V-RQ-3": "The struct virtio_gpio_request buffer MUST be filled by the "
              "driver and MUST be read-only for the device.",
    "V-RQ-4": "The struct virtio_gpio_response buffer MUST be filled by the "
              "device and MUST be writable by the device.",
    "V-RQ-6": "The driver MUST NOT send IRQ messages if the "
              "VIRTIO_GPIO_F_IRQ feature has not been negotiated.",
    "V-RQ-7": "The driver MUST NOT send IRQ messages for a GPIO line "
              "configured for output.",
    "V-RQ-9": "In order to change the trigger type of an already enabled "
              "interrupt, the driver MUST first disable the interrupt and "
              "then re-enable it with appropriate trigger type.",
    "V-EQ-2": "The driver MUST enable the interrupt before unmasking it.",
    "V-EQ-3": "To unmask the interrupt, the driver MUST queue a separate "
              "pair of buffers to the eventq virtqueue for each GPIO line.",
    "V-EQ-4": "The driver MUST NOT add multiple pairs of buffers for the "
              "same GPIO line on the eventq virtqueue.",
    "V-X-1": "A request names a GPIO line below ngpio (the gpio field's "
             "range; GET_LINE_NAMES: gpio and value zero).",
}

PASS, FAIL, NOT_APPLICABLE = "pass", "fail", "not applicable"


@dataclasses.dataclass
class Row:
    """One requirement's verdict."""

    id: str
    statement: str
    verdict: str
    evidence: str = ""


class DriverChecker:
    """Checks the driver's chains on their way to ``model``.

    :param features: a callable giving the features the driver
        negotiated (the transport knows them); None: what the model offers
    """

    def __init__(self, model, features=None):
        self.model = model
        self.features = features
        self.observed = {key: 0 for key in REQUIREMENTS}
        self.broken: Dict[str, List[str]] = {key: [] for key in REQUIREMENTS}
        #: line -> the trigger type the driver last set
        self.irq_type: Dict[int, int] = {}
        #: line -> the last trigger type other than NONE it set
        self.enabled_before: Dict[int, int] = {}
        #: line -> the direction the driver last set, in request order
        #: (the model applies a batch after the checker has seen it)
        self.direction: Dict[int, int] = {}
        #: the lines enabled at some point of the requests the loop is
        #: answering: see :meth:`process`
        self.enabled_in_batch = set()

    def __getattr__(self, name):
        return getattr(self.model, name)

    def driver_left(self):
        """The driver went away (or reset the device): what it had set up
        goes with it, so the next one starts afresh. The findings stay."""
        self.irq_type.clear()
        self.enabled_before.clear()
        self.direction.clear()
        self.enabled_in_batch = set()

    def forget_irq_buffers(self):
        self.irq_type.clear()
        self.enabled_in_batch = set()
        return self.model.forget_irq_buffers()

    # -- what it sees ------------------------------------------------------

    def _saw(self, key, broken=None):
        self.observed[key] += 1
        if broken is not None and len(self.broken[key]) < 8:
            self.broken[key].append(broken)

    def _irq_negotiated(self):
        features = (self.features() if self.features is not None
                    else self.model.features)
        return bool(features & 1)

    def process(self, chains):
        # The loop takes the eventq buffers next, before it gives the
        # answers back (take_events): the driver made them available before
        # it ran, as it did these requests, and in which order across the
        # two queues no device can tell. A buffer for a line enabled at
        # some point of the batch (before its requests, or by one of them)
        # may have been queued then: an edge's buffer re-armed just before
        # the line's release is no violation.
        self.enabled_in_batch = {line for line, kind in self.irq_type.items()
                                 if kind != IrqType.NONE}
        for chain in chains:
            self._check_request(chain)
        return self.model.process(chains)

    def take_events(self):
        self.enabled_in_batch = set()
        return self.model.take_events()

    def _check_request(self, chain):
        seen = "request %s, %d writable bytes" % (chain.readable.hex(),
                                                  chain.writable)
        size_ok = len(chain.readable) == REQUEST.size
        self._saw("V-RQ-3", None if size_ok else seen)
        if not size_ok:
            return
        msg, line, value = REQUEST.unpack(chain.readable)
        lines = len(self.model.lines)
        needed = RESPONSE.size
        if msg == Msg.GET_LINE_NAMES:
            needed = 1 + len(self.model.names_block())
            self._saw("V-X-1", None if line == 0 and value == 0 else seen)
        else:
            self._saw("V-X-1", None if line < lines else seen)
        self._saw("V-RQ-2", None if chain.writable > 0 else seen)
        if chain.writable > 0:
            self._saw("V-RQ-4", None if chain.writable >= needed else
                      seen + " (needs %d)" % needed)
        if msg == Msg.SET_DIRECTION and line < lines:
            self.direction[line] = value
        if msg != Msg.SET_IRQ_TYPE:
            return
        self._saw("V-RQ-6", None if self._irq_negotiated() else seen)
        if line >= lines:
            return
        if value != IrqType.NONE:
            direction = self.direction.get(
                line, self.model.lines[line].direction)
            self._saw("V-RQ-7", seen + " on an output line"
                      if direction == Direction.OUT else None)
        old = self.irq_type.get(line, IrqType.NONE)
        if value != IrqType.NONE:
            if old != IrqType.NONE:
                self._saw("V-RQ-9", None if value == old else
                          "%s over type %#x with no NONE between"
                          % (seen, old))
            elif self.enabled_before.get(line, value) != value:
                self._saw("V-RQ-9")  # a change of type, through NONE
            self.enabled_before[line] = value
            self.enabled_in_batch.add(line)
        self.irq_type[line] = value

    def queue_irq(self, request, token):
        seen = "eventq buffer %s" % request.hex()
        self._saw("V-EQ-3", None if len(request) == IRQ_REQUEST.size else seen)
        if len(request) == IRQ_REQUEST.size:
            (line,) = IRQ_REQUEST.unpack(request)
            if line < len(self.model.lines):
                enabled = (self.irq_type.get(line, IrqType.NONE) !=
                           IrqType.NONE or line in self.enabled_in_batch)
                self._saw("V-EQ-2", None if enabled else
                          seen + ": line %d not enabled" % line)
                held = line in self.model.held_irq_lines()
                self._saw("V-EQ-4", seen + ": line %d holds one already"
                          % line if held else None)
        return self.model.queue_irq(request, token)

    # -- the report ----------------------------------------------------------

    def rows(self) -> List[Row]:
        out = []
        for key, statement in REQUIREMENTS.items():
            if self.broken[key]:
                out.append(Row(key, statement, FAIL,
                               "; ".join(self.broken[key])))
            elif self.observed[key]:
                out.append(Row(key, statement, PASS,
                               "%d observed" % self.observed[key]))
            else:
                out.append(Row(key, statement, NOT_APPLICABLE))
        return out

    def failed(self) -> List[str]:
        """The ids of the requirements the driver broke."""
        return [row.id for row in self.rows() if row.verdict == FAIL]


def write_report(path, rows):
    """The rows as JSON (``path`` ends in .json) or as a text table,
    written whole or not at all."""
    if path.endswith(".json"):
        text = json.dumps({"requirements": [dataclasses.asdict(row)
                                            for row in rows]}, indent=1)
    else:
        width = max(len(row.verdict) for row in rows)
        text = "\n".join("%-7s %-*s %s%s" % (
            row.id, width, row.verdict, row.statement,
            "\n        evidence: " + row.evidence if row.verdict == FAIL
            else "") for row in rows)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, path)
