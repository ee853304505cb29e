"""From a bench's description to a server that serves it: a device model
per device, in its initial state, on a backend that runs its generators,
and the wires hooked into the server's events."""

from ..devices import Id30Device
from ..devices.standard import StandardDevice
from ..vhost_user.server import Server
from .load import Bench
from .stimuli import StimulatedBackend
from .wiring import Wiring


def backends(bench: Bench):
    """One backend per device of ``bench``, in its order."""
    out = []
    for description in bench.devices:
        if description.protocol == "standard":
            device = StandardDevice(description.lines,
                                    irq=description.interrupts)
        else:
            device = Id30Device(description.lines, name=description.name)
        # The state from the start, not an input change: no event goes
        # out, and there is no guest yet to hear one.
        for line, level in description.initial.items():
            device.lines[line].value = level
        out.append(StimulatedBackend(device, description.socket,
                                     description.name,
                                     description.generators))
    return out


def server(bench: Bench, control_path=None, once=False):
    """A :class:`~virtio_gpio.vhost_user.server.Server` of ``bench``'s
    devices with its wires, not opened yet. ``control_path`` takes the
    place of the file's ``control``."""
    result = Server(backends(bench), control_path=control_path
                    if control_path is not None else bench.control,
                    once=once)
    Wiring(result, bench.wires)
    return result
