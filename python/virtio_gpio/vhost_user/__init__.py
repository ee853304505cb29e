"""vhost-user device backend serving the device model over a UNIX socket.

The device side of the vhost-user protocol (QEMU docs/interop/
vhost-user.rst): feature and protocol-feature negotiation (REPLY_ACK,
CONFIG), owner, the memory table whose fds are mmap'ed, vring num / addr /
base / kick / call / enable, GET_CONFIG. Split virtqueues are walked in
guest memory; kicks arrive on eventfds, interrupts go out on the call fds.

The device itself is the same transport-independent model the unit tests
use (:class:`virtio_gpio.device.Id30Device`): one model, two transports.

One module per concern: ``protocol`` (the wire), ``memory`` (the mmap'ed
memory table), ``vring`` (split rings), ``connection`` (one front end's
messages), ``queues`` (what each GPIO protocol does with its rings),
``backend`` (the serving loop), ``control`` (the control socket's client),
``cli`` and ``control_cli`` (vgpio-vhost-user and vgpio-ctl).
"""


from .backend import Backend
from .connection import Connection
from .control import send_control
from .memory import GuestMemory
from .protocol import ProtocolError, Request
from .vring import Vring

__all__ = ["Backend", "Connection", "GuestMemory", "ProtocolError",
           "Request", "Vring", "send_control"]
