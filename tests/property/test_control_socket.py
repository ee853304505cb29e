"""Property-based: whatever reaches the control socket, the backend serves
on.

Anyone who can write to the socket can send anything. Arbitrary bytes,
arbitrary JSON values and commands with real names but random fields go to
a running server; after each, the server still answers ``devices`` and
the device still answers the guest with the level its model holds.
"""

import json
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from two_devices import two_devices
from virtio_gpio.devices.base import Fault
from virtio_gpio.vhost_user.control import send_control
from virtio_gpio.vhost_user.control_server import ControlCommands
from virtio_gpio.wire.standard import Msg
from vhost_front_end import std_request

# stop, noop and stall change the server as they should (it ends; the
# guest gets the floor's answers, or none): a random one would fail the
# check, not the server.
COMMANDS = sorted(name[3:] for name in dir(ControlCommands)
                  if name.startswith("do_") and name not in ("do_stop",
                                                              "do_noop",
                                                              "do_stall"))
FIELDS = ("device", "devices", "line", "level", "timeout", "fault", "count",
          "on")

# Integers of any size: one beyond a float's range must be refused too.
integers = st.integers() | st.integers(-2, 8) | st.just(10 ** 400)
json_values = st.recursive(
    st.none() | st.booleans() | integers | st.floats() | st.text(max_size=12),
    lambda inner: (st.lists(inner, max_size=4) |
                   st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)
# Values a field could take, in range and just out of it, or anything.
plausible = st.sampled_from(
    [0, 1, 2, 3, -1, 0.0, 0.05, 1e9, True, False, None, "", "a", "b", "z",
     "drop", "delay", "forged_event", "huge_len", ["a"], ["b", 0], [], [2]]
) | json_values


devices = st.sampled_from(["a", "b", 0, 1])
# What each command takes when it is right; a drawn command starts from
# these and has fields replaced, dropped or added, to reach the checks
# deep inside a command as well as the first one.
VALID = {
    "devices": {},
    "state": {"device": devices},
    "set_input": {"device": devices, "line": st.integers(0, 2),
                  "level": st.integers(0, 1)},
    "inject": {"device": st.sampled_from(["b", 1]),
               "fault": st.sampled_from([f.value for f in Fault]),
               "count": st.integers(1, 3)},
    "subscribe": {"devices": st.lists(devices, max_size=2)},
    "wait": {"device": devices, "line": st.integers(0, 2),
             "level": st.integers(0, 1), "timeout": st.floats(0, 0.05)},
}


@st.composite
def commands(draw):
    name = draw(st.sampled_from(COMMANDS))
    command = {}
    for field, valid in VALID.get(name, {}).items():
        choice = draw(st.sampled_from(["valid", "valid", "other", "drop"]))
        if choice == "valid":
            command[field] = draw(valid)
        elif choice == "other":
            command[field] = draw(plausible)
    command.update(draw(st.dictionaries(st.sampled_from(FIELDS) | st.text(
        max_size=6), plausible, max_size=2)))
    command["cmd"] = name
    if name == "inject" and command.get("device") in ("a", 0):
        # A fault on "a" is the guest's to meet: the check's own request
        # would be the one dropped or corrupted.
        command["device"] = "b"
    return command


def repeated(chunk, times):
    return chunk * times


# Some longer than the longest request the server reads (64 KiB).
raw_bytes = st.binary(max_size=300) | st.builds(
    repeated, st.binary(min_size=1, max_size=8), st.integers(1, 20000))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with two_devices(tmp_path_factory.mktemp("control")) as bench:
        yield bench


def exchange(path, payload):
    """Send ``payload`` on one connection and hang up our side; returns
    what came back before the server closed its side, or, for a stream
    (subscribe goes on after our side is shut), its first lines."""
    received = b""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(path)
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered (refused) and closed before the rest was read
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                assert b"\n" in received, "no answer within 5 s"
                break
            if not chunk:
                break
            received += chunk
            if b"\n" in received:
                sock.settimeout(0.05)    # the answer is in: a stream ends here
    return received


def check_still_serving(served, received):
    for line in received.splitlines():
        assert isinstance(json.loads(line), dict), line
    assert [d["name"] for d in send_control(
        served.control, {"cmd": "devices"}, timeout=5)["devices"]] == \
        ["a", "b"]
    for number, line in enumerate(served.devices[0].lines):
        assert std_request(served.front, Msg.GET_VALUE, number) == \
            bytes([0, line.value])


@given(payload=raw_bytes)
def test_arbitrary_bytes(served, payload):
    check_still_serving(served, exchange(served.control, payload))


@given(value=json_values)
def test_arbitrary_json_values(served, value):
    payload = json.dumps(value).encode() + b"\n"
    check_still_serving(served, exchange(served.control, payload))


@given(command=commands())
def test_real_commands_with_random_fields(served, command):
    payload = json.dumps(command).encode() + b"\n"
    received = exchange(served.control, payload)
    check_still_serving(served, received)
    if received:
        first = json.loads(received.splitlines()[0])
        assert {"error", "ok", "devices", "lines"} & set(first), first
    else:
        # Only a wait still waiting goes unanswered when we hang up.
        assert command["cmd"] == "wait", command
