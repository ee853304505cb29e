"""The QMP client against a scripted server on a UNIX socket: greeting
and capabilities, answers matched by id with events around them, errors,
timeouts, and a server that goes away."""

import json
import os
import socket
import threading

import pytest

from virtio_gpio.guests.qmp import QMP, QMPError

GREETING = {"QMP": {"version": {"qemu": {"major": 10}}, "capabilities": []}}


def event(name, **data):
    return {"event": name, "data": data,
            "timestamp": {"seconds": 1, "microseconds": 2}}


class FakeQEMU:
    """Answers each command as ``script[name](arguments)`` says: a list
    of messages to send ("RETURN" stands for the answer with its id)."""

    def __init__(self, path, script, greeting=GREETING):
        self.received = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(1)
        self.script = dict(script, qmp_capabilities=lambda a: ["RETURN"])
        self.greeting = greeting
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        conn, _ = self.server.accept()
        with conn:
            conn.sendall(json.dumps(self.greeting).encode() + b"\r\n")
            for line in conn.makefile("rb"):
                message = json.loads(line)
                self.received.append(message)
                for out in self.script[message["execute"]](
                        message.get("arguments", {})):
                    if out == "RETURN":
                        out = {"return": {}, "id": message["id"]}
                    elif "error" in out or "return" in out:
                        out = dict({"id": message["id"]}, **out)
                    conn.sendall(json.dumps(out).encode() + b"\r\n")
                if message["execute"] == "hang-up":
                    return

    def close(self):
        self.server.close()


@pytest.fixture
def qemu(tmp_path):
    made = []

    def make(script, **kwargs):
        fake = FakeQEMU(os.path.join(str(tmp_path), "qmp.sock"), script,
                        **kwargs)
        made.append(fake)
        return fake

    yield make
    for fake in made:
        fake.close()


def test_negotiates_capabilities_first(qemu, tmp_path):
    fake = qemu({})
    with QMP(str(tmp_path / "qmp.sock")) as qmp:
        assert not qmp.events
    assert fake.received[0] == {"execute": "qmp_capabilities", "id": 1}


def test_answer_matched_by_id_events_kept(qemu, tmp_path):
    qemu({"query-chardev": lambda a: [
        event("RTC_CHANGE", offset=1),
        {"return": "stale", "id": 999},
        {"return": [{"label": "c", "filename": "disconnected:unix:/x"}]},
        event("DEVICE_DELETED", device="d1")]})
    with QMP(str(tmp_path / "qmp.sock")) as qmp:
        answer = qmp.command("query-chardev")
        assert answer == [{"label": "c", "filename": "disconnected:unix:/x"}]
        qmp.poll_events(0.5)
        assert [e["event"] for e in qmp.events] == ["RTC_CHANGE",
                                                   "DEVICE_DELETED"]
        deleted = qmp.wait_event("DEVICE_DELETED", timeout=1,
                                 match=lambda d: d.get("device") == "d1")
        assert deleted["data"] == {"device": "d1"}
        # the other event stays queued
        assert [e["event"] for e in qmp.events] == ["RTC_CHANGE"]


def test_arguments_are_sent(qemu, tmp_path):
    fake = qemu({"device_add": lambda a: ["RETURN"]})
    with QMP(str(tmp_path / "qmp.sock")) as qmp:
        assert qmp.command("device_add", driver="vhost-user-gpio-pci",
                           id="g", chardev="c") == {}
    assert fake.received[1]["arguments"] == {
        "driver": "vhost-user-gpio-pci", "id": "g", "chardev": "c"}


def test_error_answer_raises_with_class_and_description(qemu, tmp_path):
    qemu({"chardev-add": lambda a: [{"error": {
        "class": "GenericError",
        "desc": "Failed to connect to '/x': Connection refused"}}]})
    with QMP(str(tmp_path / "qmp.sock")) as qmp:
        with pytest.raises(QMPError) as caught:
            qmp.command("chardev-add", id="c")
    assert caught.value.klass == "GenericError"
    assert "Connection refused" in str(caught.value)


def test_no_answer_times_out(qemu, tmp_path):
    qemu({"device_del": lambda a: []})
    with QMP(str(tmp_path / "qmp.sock")) as qmp:
        with pytest.raises(TimeoutError):
            qmp.command("device_del", timeout=0.3, id="g")
        with pytest.raises(TimeoutError):
            qmp.wait_event("DEVICE_DELETED", timeout=0.3)


def test_a_server_that_goes_away_is_a_connection_error(qemu, tmp_path):
    qemu({"hang-up": lambda a: []})
    with QMP(str(tmp_path / "qmp.sock")) as qmp:
        with pytest.raises(ConnectionError):
            qmp.command("hang-up", timeout=5)


def test_not_a_qmp_server_is_refused(qemu, tmp_path):
    qemu({}, greeting={"hello": 1})
    with pytest.raises(ConnectionError):
        QMP(str(tmp_path / "qmp.sock"), timeout=5)
