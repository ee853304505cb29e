"""What each protocol's device does with its rings: requests in, replies
and events out (the 2020 protocol's shared receive queue, or the standard
protocol's request chains and per-line eventq buffers)."""

import logging
from typing import List

from .. import protocol
from ..devices.base import FORGED_TOKEN, Outgoing
from .protocol import ProtocolError

log = logging.getLogger(__name__)


def _readable(mem, parts):
    return b"".join(mem.read(addr, length) for addr, length, w in parts if not w)


class Id30Queues:
    """The 2020 protocol: queue 0 device->driver messages, queue 1 requests."""

    def __init__(self, conn):
        self.conn = conn
        self.pending: List = []

    def close(self):
        self.pending = []

    def ring_stopped(self, index):
        if index == protocol.VQ_RX:
            self.pending = []

    def process(self):
        """Answer every queued request and deliver what is pending."""
        conn = self.conn
        tx = conn.vrings[protocol.VQ_TX]
        requests = []
        while True:
            chain = tx.pop(conn.mem)
            if chain is None:
                break
            head, parts = chain
            requests.append(_readable(conn.mem, parts))
            tx.push(conn.mem, head, 0)
        if requests:
            tx.interrupt()
            self.pending += conn.backend.device.process(requests)
        self.deliver()

    def input_changed(self, messages):
        self.deliver(messages)

    def deliver(self, messages=()):
        conn = self.conn
        self.pending += list(messages)
        rx = conn.vrings[protocol.VQ_RX]
        sent = 0
        while self.pending:
            chain = rx.pop(conn.mem)
            if chain is None:
                break
            head, parts = chain
            out = self.pending.pop(0)
            addr, length, writable = parts[0]
            if not writable:
                raise ProtocolError("receive buffer is not device-writable")
            conn.mem.write(addr, out.payload[:length])
            rx.push(conn.mem, head, out.used_len)
            sent += 1
        if sent:
            rx.interrupt()


class StandardQueues:
    """virtio 1.2 GPIO: queue 0 requestq, queue 1 eventq (request chains)."""

    REQUESTQ, EVENTQ = 0, 1

    def __init__(self, conn):
        self.conn = conn

    def close(self):
        # Chains of a departed front end can never be returned.
        for index in (self.REQUESTQ, self.EVENTQ):
            self.ring_stopped(index)

    def ring_stopped(self, index):
        device = self.conn.backend.device
        if index == self.EVENTQ:
            device.forget_irq_buffers()
        elif index == self.REQUESTQ:
            device.delayed = []

    def _scatter(self, parts, payload):
        done = 0
        for addr, length, writable in parts:
            if writable and done < len(payload):
                chunk = payload[done:done + length]
                self.conn.mem.write(addr, chunk)
                done += len(chunk)

    def process(self):
        conn, device = self.conn, self.conn.backend.device
        requestq = conn.vrings[self.REQUESTQ]
        answered = False
        chains = []
        while True:
            chain = requestq.pop(conn.mem)
            if chain is None:
                break
            chains.append(chain)
        # A delayed reply goes out late: when the next requests come in.
        replies = device.release_delayed() if chains else []
        for chain in chains:
            if conn.backend.noop:
                # The floor: answer at once, no model, "OK, value 0".
                replies.append(Outgoing(bytes(2), 2, chain))
                continue
            capacity = sum(length for _, length, w in chain[1] if w)
            reply = device.handle(_readable(conn.mem, chain[1]), capacity,
                                  chain)
            if reply is None:
                continue  # dropped for good, or delayed (the model keeps it)
            replies.append(reply)
        for reply in replies:
            head, parts = reply.token
            self._scatter(parts, reply.payload)
            requestq.push(conn.mem, head, reply.used_len)
            answered = True
        if answered:
            requestq.interrupt()
        self._take_eventq()
        self.complete_irqs()

    def _take_eventq(self):
        """Hand every eventq chain the driver made available to the model."""
        conn = self.conn
        eventq = conn.vrings[self.EVENTQ]
        while True:
            chain = eventq.pop(conn.mem)
            if chain is None:
                break
            conn.backend.device.queue_irq(_readable(conn.mem, chain[1]),
                                          chain)

    def input_changed(self, _):
        self.complete_irqs()

    def _unheld_head(self):
        """A descriptor index that heads no chain the driver made
        available (all of them taken first): to the driver, a buffer it
        never posted. None when the ring has none such."""
        self._take_eventq()
        eventq = self.conn.vrings[self.EVENTQ]
        held = {token[0] for token in
                self.conn.backend.device.held_irq_lines().values()}
        free = sorted(set(range(eventq.num)) - held)
        return free[0] if free else None

    def complete_irqs(self):
        conn = self.conn
        eventq = conn.vrings[self.EVENTQ]
        done = conn.backend.device.take_irq_completions()
        for completion in done:
            if completion.token is FORGED_TOKEN:
                head = self._unheld_head()
                if head is None:
                    log.warning("forged_event: every descriptor is held")
                else:
                    eventq.push(conn.mem, head, 1)
                continue
            head, parts = completion.token
            self._scatter(parts, completion.payload)
            eventq.push(conn.mem, head, completion.used_len)
        if done:
            eventq.interrupt()
