"""Shared pieces of the end-to-end tests: the backend process, gpio-probe."""

import os
import subprocess
import sys
import time

from virtio_gpio.vhost_user import send_control


class Backend:
    def __init__(self, workdir, name, *args):
        self.sock = os.path.join(workdir, name + ".sock")
        self.control = os.path.join(workdir, name + ".ctl")
        self.log_path = os.path.join(workdir, name + ".log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "virtio_gpio.backend_cli", "--socket",
             self.sock, "--control", self.control, "-v"] + list(args),
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not (os.path.exists(self.sock) and os.path.exists(self.control)):
            assert self.proc.poll() is None, self.text()
            assert time.monotonic() < deadline, "backend did not start"
            time.sleep(0.05)

    def __call__(self, **command):
        return send_control(self.control, command)

    def text(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL_SRC = os.path.join(ROOT, "kernel")

#: the UML kernel series the end-to-end runs boot (tools/linux-source
#: arguments): Debian's 6.1 LTS, with tools/uml-patches/6.1, and the newest
#: series Debian carries
UML_SERIES = ("6.1", "newest")


def build_gpio_probe(path, static=False):
    """Compile tools/guest/gpio-probe.c (static for a busybox initramfs)."""
    cmd = ["gcc", "-O2", "-Wall", "-Werror", "-o", path,
           os.path.join(ROOT, "tools", "guest", "gpio-probe.c")]
    subprocess.run(cmd + (["-static"] if static else []), check=True)
    return path
