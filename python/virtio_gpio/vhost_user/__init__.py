"""vhost-user device backend serving the device model over a UNIX socket.

The device side of the vhost-user protocol (QEMU docs/interop/
vhost-user.rst): feature and protocol-feature negotiation (REPLY_ACK,
CONFIG), owner, the memory table whose fds are mmap'ed, vring num / addr /
base / kick / call / enable, GET_CONFIG. Split virtqueues are walked in
guest memory; kicks arrive on eventfds, interrupts go out on the call fds.

The device is the same transport-independent model the unit tests use
(:mod:`virtio_gpio.devices`), driven by the same per-protocol loop
(:mod:`virtio_gpio.devices.loops`): one model, one loop, two kinds of
rings. Nothing here needs the compiled driver core.

One module per concern: ``protocol`` (the vhost-user wire), ``memory`` (the
mmap'ed memory table), ``vring`` (split rings), ``rings`` (the vrings as the
device loop's ring interface), ``connection`` (one front end's messages),
``backend`` (one device's socket and front end), ``server`` (the loop
serving every device of the process, its timers and line events),
``control_server`` (the control socket's commands), ``control`` (its client),
``cli`` and ``control_cli`` (vgpio-vhost-user and vgpio-ctl).
"""


import importlib

#: public name -> the module that defines it; loaded on first use, so that
#: the control client loads no more than it uses
_EXPORTS = {
    "Backend": "backend", "Server": "server", "Connection": "connection",
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
