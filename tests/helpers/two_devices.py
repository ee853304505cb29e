"""One server, two standard devices, a front end on the first: what the
control socket's clients are tested against (virtio_gpio.host, vgpio-ctl,
the control socket's properties)."""

import contextlib
import dataclasses
import os
import threading
from typing import List

from virtio_gpio import vhost_user as vu
from virtio_gpio.devices.standard import StandardDevice
from virtio_gpio.vhost_user.control import send_control
from vhost_front_end import FrontEnd, start


@dataclasses.dataclass
class Served:
    #: the guest's side of device "a"
    front: FrontEnd
    server: vu.Server
    #: the models: "a" (lines led, button) and "b" (three unnamed lines)
    devices: List[StandardDevice]
    thread: threading.Thread

    @property
    def control(self):
        return self.server.control_path


@contextlib.contextmanager
def two_devices(directory):
    """Serve "a" and "b" from a thread, their control socket in
    ``directory``; a front end has done the handshake with "a". Stopped
    afterwards, unless the test stopped it."""
    directory = str(directory)
    devices = [StandardDevice(["led", "button"]), StandardDevice(3)]
    front, server, thread = start(
        [vu.Backend(devices[0], os.path.join(directory, "a.sock"), "a"),
         vu.Backend(devices[1], os.path.join(directory, "b.sock"), "b")],
        os.path.join(directory, "ctl"))
    try:
        yield Served(front, server, devices, thread)
    finally:
        if thread.is_alive():
            send_control(server.control_path, {"cmd": "stop"})
        thread.join(5)
        front.sock.close()
    assert not thread.is_alive(), "the server did not stop"
