"""Hot-plug of vhost-user backends, against a fake QMP: what is sent
when a socket appears, when a backend refuses, when its connection drops
and when it listens again; and what is reported."""

import collections

import pytest

from virtio_gpio.guests import hotplug
from virtio_gpio.guests.qmp import QMPError

from fake_sockets import bound_socket


class FakeQMP:
    """Records commands; chardev-add succeeds for paths in ``listening``;
    ``query-chardev`` says ``disconnected:`` for chardevs in ``dropped``;
    device_del queues DEVICE_DELETED unless ``keep_devices``."""

    def __init__(self):
        self.sent = []
        self.events = collections.deque()
        self.listening = set()
        self.dropped = set()
        self.refuse_devices = False
        self.keep_devices = False
        self.chardevs = {}

    def command(self, name, timeout=30.0, **args):
        self.sent.append((name, args))
        if name == "chardev-add":
            path = args["backend"]["data"]["addr"]["data"]["path"]
            if path not in self.listening:
                raise QMPError(name, "GenericError",
                               "Failed to connect to '%s': Connection "
                               "refused" % path)
            self.chardevs[args["id"]] = path
            return {}
        if name == "chardev-remove":
            del self.chardevs[args["id"]]
            return {}
        if name == "device_add" and self.refuse_devices:
            raise QMPError(name, "GenericError", "vhost_backend_init failed")
        if name == "device_del" and not self.keep_devices:
            self.events.append({"event": "DEVICE_DELETED",
                                "data": {"device": args["id"]}})
        if name == "query-chardev":
            return [{"label": label, "filename": ("disconnected:" if label in
                                                  self.dropped else "")
                     + "unix:" + path}
                    for label, path in self.chardevs.items()]
        return {}

    def wait_event(self, name, timeout=30.0, match=None):
        for event in list(self.events):
            if event["event"] == name and match(event["data"]):
                self.events.remove(event)
                return event
        raise TimeoutError(name)

    def names(self):
        return [name for name, _ in self.sent if name != "query-chardev"]


@pytest.fixture
def listener(tmp_path):
    """A UNIX socket file at ``tmp_path/b.sock`` (is_socket is true)."""
    with bound_socket(str(tmp_path / "b.sock")) as path:
        yield path


def plugged(qmp, path, said):
    plug = hotplug.Hotplug(qmp, [path], said.append)
    qmp.listening.add(path)
    plug._look()
    assert plug.pending() == []
    qmp.sent.clear()
    said.clear()
    return plug


def test_a_missing_socket_is_waited_for_without_qemu(tmp_path):
    qmp, said = FakeQMP(), []
    path = str(tmp_path / "later.sock")
    plug = hotplug.Hotplug(qmp, [path], said.append)
    plug._look()
    plug._look()
    assert qmp.names() == []
    assert said == ["waiting for its socket %s to appear" % path]
    assert [s.path for s in plug.pending()] == [path]


def test_a_listening_backend_gets_a_chardev_then_a_device(listener):
    qmp, said = FakeQMP(), []
    qmp.listening.add(listener)
    plug = hotplug.Hotplug(qmp, [listener], said.append)
    plug._look()
    assert qmp.sent == [
        ("chardev-add", {"id": "vgpio0-g1-chr", "backend": {
            "type": "socket", "data": {
                "addr": {"type": "unix", "data": {"path": listener}},
                "server": False}}}),
        ("device_add", {"driver": "vhost-user-gpio-pci", "id": "vgpio0-g1",
                        "chardev": "vgpio0-g1-chr"})]
    assert said == ["attached %s as vgpio0-g1" % listener]
    assert plug.pending() == []


def test_a_socket_nobody_accepts_on_is_retried(listener):
    qmp, said = FakeQMP(), []
    plug = hotplug.Hotplug(qmp, [listener], said.append)
    plug._look()
    plug._look()
    assert qmp.names() == ["chardev-add", "chardev-add"]
    assert "Connection refused" in plug.pending()[0].waiting_for
    qmp.listening.add(listener)
    plug._look()
    # the failed attempts used up no ids
    assert qmp.sent[-1][1]["id"] == "vgpio0-g1"
    assert len(said) == 2 and said[1].startswith("attached")


def test_a_refused_device_frees_its_chardev(listener):
    qmp, said = FakeQMP(), []
    qmp.listening.add(listener)
    qmp.refuse_devices = True
    plug = hotplug.Hotplug(qmp, [listener], said.append)
    plug._look()
    assert qmp.names() == ["chardev-add", "device_add", "chardev-remove"]
    assert qmp.chardevs == {}
    assert "vhost_backend_init failed" in plug.pending()[0].waiting_for


def test_a_dropped_backend_stays_plugged_until_it_listens_again(listener):
    qmp, said = FakeQMP(), []
    plug = plugged(qmp, listener, said)
    qmp.dropped.add("vgpio0-g1-chr")
    qmp.listening.discard(listener)
    plug._look()
    plug._look()
    assert qmp.names() == ["chardev-add", "chardev-add"]
    assert said == ["backend of %s went away: vgpio0-g1 waits for it to "
                    "listen again" % listener]
    qmp.sent.clear()
    qmp.listening.add(listener)
    plug._look()
    # a new connection first (the test that the backend listens), then
    # the old device out, its chardev removed, the new device in
    assert qmp.sent == [
        ("query-chardev", {}),
        ("chardev-add", {"id": "vgpio0-g2-chr", "backend": {
            "type": "socket", "data": {
                "addr": {"type": "unix", "data": {"path": listener}},
                "server": False}}}),
        ("device_del", {"id": "vgpio0-g1"}),
        ("chardev-remove", {"id": "vgpio0-g1-chr"}),
        ("device_add", {"driver": "vhost-user-gpio-pci", "id": "vgpio0-g2",
                        "chardev": "vgpio0-g2-chr"})]
    assert said[-1] == "re-plugged %s as vgpio0-g2" % listener
    assert plug.slots[0].plugs == 2


def test_a_device_the_guest_keeps_is_given_up(listener):
    qmp, said = FakeQMP(), []
    plug = plugged(qmp, listener, said)
    qmp.dropped.add("vgpio0-g1-chr")
    qmp.keep_devices = True
    plug._look()
    assert qmp.names() == ["chardev-add", "device_del", "chardev-remove"]
    assert list(qmp.chardevs) == ["vgpio0-g1-chr"]
    assert "did not release vgpio0-g1" in said[-1]
    qmp.sent.clear()
    plug._look()
    assert qmp.names() == []


def test_is_socket(tmp_path, listener):
    assert hotplug.is_socket(listener)
    assert not hotplug.is_socket(str(tmp_path))
    assert not hotplug.is_socket(str(tmp_path / "none"))


def test_why_unplugged_says_hot_plug_stopped_when_it_did(listener):
    plug = hotplug.Hotplug(FakeQMP(), [listener], [].append)
    assert "waiting for" in plug.why_unplugged()
    plug.error = TimeoutError("query-chardev: no answer in 30 s")
    assert plug.why_unplugged() == (
        "hot-plug stopped: query-chardev: no answer in 30 s")
