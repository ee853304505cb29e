"""The backend process seen from outside: start it and wait for its
sockets, send it one JSON command per connection on its control socket.

Standard library only: guest runners and tests use it without the
compiled core.
"""

import json
import socket
import subprocess
import sys
import time


def send_control(path, command, timeout=10.0):
    """Send one command to a backend's control socket; returns its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(json.dumps(command).encode() + b"\n")
        return json.loads(read_line(sock))


def read_line(sock):
    """Bytes up to and including the first newline (or EOF)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def spawn(socket_path, control, args=(), log=None, timeout=20.0):
    """Start this backend serving one device on ``socket_path`` and wait
    until it serves (see :func:`start`); returns the ``subprocess.Popen``.

    :param args: more command-line arguments (``--protocol``, ``--names``)
    """
    return start(["-s", socket_path, "--control", control] + list(args),
                 control, log=log, timeout=timeout)


def start(args, control, log=None, timeout=20.0):
    """Start this backend with the command-line ``args`` and wait until it
    serves: ``control``, its control socket, answers, which it does only
    once every socket listens (a socket file left by a killed backend
    exists before that). Returns the ``subprocess.Popen``.

    :param log: a file for its output
    :raises RuntimeError: when it exits or takes longer than ``timeout``
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "virtio_gpio.vhost_user"] + list(args),
        stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if "devices" in send_control(control, {"cmd": "devices"},
                                         timeout=1.0):
                return proc
        except (OSError, ValueError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise RuntimeError("vgpio-vhost-user did not start (exit %s)"
                               % proc.returncode)
        time.sleep(0.05)
