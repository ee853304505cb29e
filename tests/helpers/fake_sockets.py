"""UNIX sockets that stand in for a peer in tests: a socket file nobody
listens on, and a listener that takes one connection and does what the
test says with it."""

import contextlib
import socket
import threading


@contextlib.contextmanager
def bound_socket(path):
    """A socket file at ``path`` that no one listens on, while in use."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    try:
        yield path
    finally:
        sock.close()


def one_connection(path, handle):
    """Listen on ``path``, accept one connection and call ``handle(conn)``
    in a thread, then close both; returns the started thread."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def run():
        conn, _ = listener.accept()
        with conn:
            handle(conn)
        listener.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread
