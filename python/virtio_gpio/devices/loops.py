"""The device loop, once per protocol, over the ring interface of
:mod:`.ring`: requests in, replies and events out.

A loop holds its device model and its rings and knows how the protocol
uses its queues; it knows nothing of how the rings are kept (simulated
in C, or vrings in a guest's memory) and nothing of what the model
decides.
"""

import logging
from typing import Dict, List, Optional

from ..wire import id30 as id30_wire
from ..wire import standard as std_wire
from .base import FORGED_TOKEN, Outgoing
from .ring import Chain, Ring

log = logging.getLogger(__name__)


def _drain(ring: Ring) -> List[Chain]:
    chains = []
    while True:
        chain = ring.pop()
        if chain is None:
            return chains
        chains.append(chain)


class Id30Loop:
    """The 2020 protocol: requests on the transmit queue, each returned
    at once; replies and HOST_LEVEL events on the receive queue, in
    whatever buffers the driver posted there, oldest message first.

    :param tx_interrupts: signal returned transmit buffers (without it the
        driver must reclaim them on its own)
    """

    QUEUES = (id30_wire.VQ_RX, id30_wire.VQ_TX)

    def __init__(self, device, rings: Dict[int, Ring], tx_interrupts=True):
        self.device = device
        self.rx = rings[id30_wire.VQ_RX]
        self.tx = rings[id30_wire.VQ_TX]
        self.tx_interrupts = tx_interrupts
        #: messages waiting for a receive buffer
        self.pending: List[Outgoing] = []

    def take_requests(self) -> List[Chain]:
        """Pop every queued request, each returned used at once."""
        chains = _drain(self.tx)
        for chain in chains:
            self.tx.push(chain.token, b"", 0)
        return chains

    def run(self):
        """Answer every queued request; returns how many there were."""
        chains = self.take_requests()
        if chains:
            self.pending += self.device.process(chains)
        self.flush()
        if chains and self.tx_interrupts:
            self.tx.interrupt()
        return len(chains)

    def deliver(self, messages):
        """Send arbitrary messages (tests feed the driver garbage so)."""
        self.pending += list(messages)
        self.flush()

    def flush(self):
        """Fill posted receive buffers, one interrupt per batch, until no
        buffer is left or nothing is pending."""
        self.pending += self.device.take_events()
        while self.pending:
            moved = 0
            while self.pending:
                chain = self.rx.pop()
                if chain is None:
                    break
                out = self.pending.pop(0)
                self.rx.push(chain.token, out.payload, out.used_len)
                moved += 1
            if not moved or not self.rx.interrupt():
                break

    def set_input(self, line, level):
        """The outside world drives an input; its event goes out now."""
        self.device.set_input(line, level)
        self.flush()

    def release_delayed(self):
        self.deliver(self.device.release_delayed())

    def ring_stopped(self, index):
        """The driver let go of a ring: buffers it held are gone."""
        if index == id30_wire.VQ_RX:
            self.pending = []

    def close(self):
        self.pending = []


class StandardLoop:
    """virtio 1.2: each request answered in its own chain on the
    requestq; per-line eventq chains the model holds until the line
    triggers."""

    QUEUES = (std_wire.VQ_REQUEST, std_wire.VQ_EVENT)

    def __init__(self, device, rings: Dict[int, Ring]):
        self.device = device
        self.requestq = rings[std_wire.VQ_REQUEST]
        #: None where the transport has no eventq (a device without F_IRQ)
        self.eventq: Optional[Ring] = rings.get(std_wire.VQ_EVENT)

    def run(self):
        """Answer every queued request, take new eventq chains, return
        the finished ones; returns how many requests there were."""
        chains = _drain(self.requestq)
        if chains:
            self._answer(self.device.process(chains))
        self.take_irq_buffers()
        self.flush()
        return len(chains)

    def take_irq_buffers(self):
        """Hand every eventq chain the driver made available to the model."""
        if self.eventq is None:
            return
        for chain in _drain(self.eventq):
            self.device.queue_irq(chain.readable, chain.token)

    def flush(self):
        """Return the eventq chains the model finished, one interrupt."""
        done = self.device.take_events()
        if not done or self.eventq is None:
            return
        waiting = []
        for completion in done:
            if completion.token is FORGED_TOKEN:
                self.take_irq_buffers()
                if not self.eventq.forge(self.device.held_irq_lines()
                                         .values()):
                    waiting.append(completion)
            else:
                self.eventq.push(completion.token, completion.payload,
                                 completion.used_len)
        # A forgery waits for the driver to set the ring up.
        self.device.events[:0] = waiting
        if len(waiting) < len(done):
            self.eventq.interrupt()

    def set_input(self, line, level):
        """The outside world drives an input: chains the driver posted
        meanwhile are taken first, so the change can complete one."""
        self.take_irq_buffers()
        self.device.set_input(line, level)
        self.flush()

    def release_delayed(self):
        self._answer(self.device.release_delayed())

    def _answer(self, replies):
        for reply in replies:
            self.requestq.push(reply.token, reply.payload, reply.used_len)
        if replies:
            self.requestq.interrupt()

    def ring_stopped(self, index):
        """The driver let go of a ring: chains it held are gone."""
        if index == std_wire.VQ_EVENT:
            self.device.forget_irq_buffers()
        elif index == std_wire.VQ_REQUEST:
            self.device.discard_delayed()

    def close(self):
        for index in self.QUEUES:
            self.ring_stopped(index)


def loop_for(device, rings: Dict[int, Ring], tx_interrupts=True):
    """The loop of ``device``'s protocol, over ``rings`` (index -> ring);
    ``tx_interrupts`` matters to the 2020 protocol only."""
    if device.device_id == std_wire.DEVICE_ID:
        return StandardLoop(device, rings)
    return Id30Loop(device, rings, tx_interrupts=tx_interrupts)
