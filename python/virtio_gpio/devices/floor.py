"""The benchmark's floor: a device that answers without thinking.

Every request gets "OK, value 0" at once, with no model behind it, so a
round trip through it costs the ring walk and the transport alone: what
every figure measured through a real model stands on. Everything but the
requests (config space, eventq, input) stays with the model it wraps, so
it can be switched in and out while a guest runs.
"""

from typing import List

from ..wire.standard import RESPONSE, Status
from .base import Outgoing


class FloorDevice:
    """Answers ``model``'s requests without it; the rest is ``model``'s."""

    def __init__(self, model):
        self.model = model

    def process(self, chains) -> List[Outgoing]:
        reply = RESPONSE.pack(Status.OK, 0)
        return [Outgoing(reply, len(reply), chain.token) for chain in chains]

    def __getattr__(self, name):
        return getattr(self.model, name)
