"""The control socket's client side: one JSON command per connection."""

import json
import socket


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
