"""vhost-user device backend serving the device model over a UNIX socket.

The device side of the vhost-user protocol (QEMU docs/interop/
vhost-user.rst): feature and protocol-feature negotiation (REPLY_ACK,
CONFIG), owner, the memory table whose fds are mmap'ed, vring num / addr /
base / kick / call / enable, GET_CONFIG. Split virtqueues are walked in
guest memory; kicks arrive on eventfds, interrupts go out on the call fds.

The device itself is the same transport-independent model the unit tests
use (:class:`virtio_gpio.devices.id30.Id30Device`): one model, two transports.

One module per concern: ``protocol`` (the wire), ``memory`` (the mmap'ed
memory table), ``vring`` (split rings), ``connection`` (one front end's
messages), ``queues`` (what each GPIO protocol does with its rings),
``backend`` (the serving loop), ``control`` (the control socket's client),
``cli`` and ``control_cli`` (vgpio-vhost-user and vgpio-ctl).
"""


import importlib

#: public name -> the module that defines it; loaded on first use, so that
#: the control client imports without the compiled core
_EXPORTS = {
    "Backend": "backend", "Connection": "connection",
    "GuestMemory": "memory", "ProtocolError": "protocol",
    "Request": "protocol", "Vring": "vring", "send_control": "control",
    "spawn": "control",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError("module %r has no attribute %r"
                             % (__name__, name))
    value = getattr(importlib.import_module("." + _EXPORTS[name], __name__),
                    name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
