"""The device checker checked.

Against our backend served in-process, it passes what the backend keeps
and fails what it breaks for real; each fault the backend can inject
fails the requirement that fault breaks; a backend that says nothing or
hangs up fails in bounded time, and a socket nobody accepts on is exit
status 2. Its requirement table and Documentation/conformance-kit.rst's
are the same, and every device statement of conformance.rst is in it.
"""

import contextlib
import json
import os
import subprocess
import sys
import threading
import time

import docutils.core
import pytest
from docutils import nodes

from checkout import ROOT
from virtio_gpio import vhost_user as vu
from virtio_gpio.conformance import cli
from virtio_gpio.conformance.device_checker import CannotConnect, check_device
from virtio_gpio.conformance.requirements import (NEEDS_CONTROL, NEEDS_IRQ,
                                                   REQUIREMENTS)
from virtio_gpio.conformance.results import FAIL, NOT_APPLICABLE, PASS
from virtio_gpio.devices.base import ConfigFault, Fault
from virtio_gpio.devices.standard import StandardDevice

from fake_sockets import one_connection

KIT = os.path.join(ROOT, "Documentation", "conformance-kit.rst")
CONFORMANCE = os.path.join(ROOT, "Documentation", "conformance.rst")

NAMES = ["led", "button", "", "reset"]
#: what our backend breaks for real: nothing. (The kit's first run found
#: two: edges lost while masked, V-D-8, V-D-18, V-D-23, V-D-25; and a
#: trigger type kept through SET_DIRECTION NONE, V-D-7.)
KNOWN_GAPS = set()
#: a permission, and a judgement of meaning: never observable
NEVER = {"V-D-6", "V-D-15"}
NEED_CONTROL = {r.id for r in REQUIREMENTS
                if NEEDS_CONTROL in r.needs.split()}
EVENTQ = {r.id for r in REQUIREMENTS if NEEDS_IRQ in r.needs.split()}
NAME_ROWS = {"V-D-4", "V-D-13", "V-D-14", "V-D-16", "V-DX-3"}
#: answers come at once in-process: the time is spent only on failures
TIMEOUT = 2.0
HOLD = 0.05


@contextlib.contextmanager
def served(tmp_path, device):
    """Our backend serving ``device`` from a thread: (socket, control)."""
    sock, ctl = str(tmp_path / "gpio.sock"), str(tmp_path / "gpio.ctl")
    server = vu.Server([vu.Backend(device, sock)], control_path=ctl,
                       once=True)
    server.open()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield sock, ctl
    finally:
        # It stops when the checker leaves; one never connected is told.
        if server.backends[0].connections == 0:
            vu.send_control(ctl, {"cmd": "stop"})
        thread.join(5)
        assert not thread.is_alive(), "the backend did not stop"


def verdicts(results):
    return {row.id: row.verdict for row in results.rows()}


def ids(found, verdict):
    return {key for key, value in found.items() if value == verdict}


def check(tmp_path, device, control=True, timeout=TIMEOUT):
    """Our backend serving ``device`` checked, with its control socket or
    without."""
    with served(tmp_path, device) as (sock, ctl):
        return check_device(sock, control=ctl if control else None,
                            timeout=timeout, hold=HOLD)


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    """Our backend checked with its control socket. Each known gap costs
    a timeout: a buffer that never comes back."""
    return check(tmp_path_factory.mktemp("ours"), StandardDevice(NAMES),
                 timeout=1.0)


def test_our_backend_fails_only_what_it_breaks(ours):
    found = verdicts(ours)
    assert ids(found, FAIL) == KNOWN_GAPS
    assert ids(found, NOT_APPLICABLE) == NEVER | {"V-D-3"}   # it has names
    assert len(ids(found, PASS)) == len(REQUIREMENTS) - len(KNOWN_GAPS) - 3


def test_indirect_tables_are_served_as_ring_descriptors(ours):
    rows = {row.id: row for row in ours.rows()}
    assert rows["VQ-3"].verdict == PASS
    assert "GET_DIRECTION(0, 0) in a table 0200000000000000 -> 0000 (used " \
        "2), as GET_DIRECTION(0, 0) 0200000000000000 -> 0000 (used 2)" \
        in rows["VQ-3"].evidence
    assert "GET_DIRECTION(0, 0), its response in a table " \
        "0200000000000000 -> 0000 (used 2)" in rows["VQ-3"].evidence
    assert "eventq buffer of line 1 in a table 0100 -> 00 (used 1), " \
        "interrupt not enabled" in rows["VQ-3"].evidence


def test_a_backend_that_offers_tables_and_cannot_walk_them_fails_vq3(
        tmp_path, monkeypatch):
    from virtio_gpio.vhost_user import vring

    def cannot(*args):
        raise vu.ProtocolError("no indirect tables here")

    monkeypatch.setattr(vring, "_indirect", cannot)
    found = check(tmp_path, StandardDevice(NAMES))
    rows = {row.id: row for row in found.rows()}
    assert ids(verdicts(found), FAIL) == {"VQ-3"}
    assert "GET_DIRECTION(0, 0) in a table 0200000000000000: the backend " \
        "hung up" in rows["VQ-3"].evidence


def test_a_backend_that_offers_no_tables_is_not_checked_with_them(
        tmp_path, monkeypatch):
    from virtio_gpio.vhost_user import connection, protocol
    offer = connection.Connection.on_get_features
    monkeypatch.setattr(connection.Connection, "on_get_features",
                        lambda self, payload, fds: (int.from_bytes(
                            offer(self, payload, fds), "little")
                            & ~protocol.F_INDIRECT_DESC).to_bytes(8, "little"))
    found = check(tmp_path, StandardDevice(NAMES))
    rows = {row.id: row for row in found.rows()}
    assert rows["VQ-3"].verdict == NOT_APPLICABLE
    assert "does not offer VIRTIO_RING_F_INDIRECT_DESC" in \
        rows["VQ-3"].evidence
    assert ids(verdicts(found), FAIL) == set()


def test_the_evidence_is_the_bytes_seen(ours):
    rows = {row.id: row for row in ours.rows()}
    # VERSION_1, PROTOCOL_FEATURES, INDIRECT_DESC, VIRTIO_GPIO_F_IRQ
    assert "GET_FEATURES 0x0000000150000001" in rows["VU-1"].evidence
    # GET_LINE_NAMES: status OK, then "led\0button\0\0reset\0".
    assert ("00" + b"led\0button\0\0reset\0".hex()) in rows["V-D-4"].evidence
    assert "GET_DIRECTION(0, 0) 0200000000000000 -> 0002 (used 2)" in \
        rows["V-D-1"].evidence
    assert rows["V-D-8"].evidence == (
        "eventq buffer of line 1 0100 -> 01 (used 1): EDGE_RISING enabled, "
        "a rising edge before any buffer was queued")
    assert rows["V-D-18"].evidence.startswith("as V-D-8: ")


def test_without_control_what_needs_an_input_change_is_not_applicable(
        tmp_path):
    found = verdicts(check(tmp_path, StandardDevice(NAMES), control=False))
    assert ids(found, FAIL) == set()
    assert ids(found, NOT_APPLICABLE) == NEVER | NEED_CONTROL | {"V-D-3"}
    assert found["V-D-19"] == found["V-D-24"] == PASS   # levels: GET_VALUE


def test_a_device_without_names(tmp_path):
    found = verdicts(check(tmp_path, StandardDevice(3), control=False))
    assert found["V-D-3"] == PASS
    assert {found[key] for key in NAME_ROWS} == {NOT_APPLICABLE}
    assert ids(found, FAIL) == set()


def test_a_device_without_interrupts(tmp_path):
    found = verdicts(check(tmp_path, StandardDevice(NAMES, irq=False)))
    assert {found[key] for key in EVENTQ | {"VU-3"}} == {NOT_APPLICABLE}
    assert ids(found, FAIL) == set()


class ForgingDevice(StandardDevice):
    """Forges an eventq return once it holds the first buffer: a fault
    injected before the front end connects is gone with the rings'
    setup."""

    forged = False

    def queue_irq(self, request, token):
        super().queue_irq(request, token)
        if self.held_irq_lines() and not self.forged:
            self.forged = True
            self.inject(Fault.FORGED_EVENT)


FIRST = "GET_DIRECTION(0, 0) 0200000000000000"


#: each fault of our backend: the requirement it breaks, and the evidence
FAULTS = [
    (Fault.DROP, "V-DX-4", FIRST + ": not returned within 0.5 s"),
    (Fault.DELAY, "V-DX-4", FIRST + " came back late (used 2), once a "
     "later request was made available"),
    (Fault.CORRUPT_TYPE, "V-D-22", FIRST + " -> 7f02 (used 2)"),
    (Fault.CORRUPT_VALUE, "V-DX-5", FIRST + " -> 0042 (used 2)"),
    (Fault.SHORT_LEN, "V-D-1", FIRST + " -> 00 (used 1)"),
    (Fault.LONG_LEN, "VQ-1", FIRST + " -> 0002 (used 66), room 2"),
    (Fault.ZERO_LEN, "V-D-1", FIRST + " -> nothing (used 0)"),
    (Fault.HUGE_LEN, "VQ-1", FIRST + " -> 0002 (used 4294967295), room 2"),
    # Descriptor 0 headed the line's first buffer, returned long before.
    (Fault.FORGED_EVENT, "VQ-2", "queue 1 used element id 0, len 1: no "
     "chain with that head was with the device"),
    # The first buffer the checker has completed: a level it set up.
    (Fault.CORRUPT_IRQ_STATUS, "V-D-19", "eventq buffer of line 1 0100 -> "
     "7f (used 1)"),
]


@pytest.mark.parametrize("fault, breaks, seen", FAULTS,
                         ids=[fault.value for fault, _, _ in FAULTS])
def test_each_fault_fails_the_requirement_it_breaks(tmp_path, fault, breaks,
                                                    seen):
    if fault is Fault.FORGED_EVENT:
        device = ForgingDevice(NAMES)
    else:
        device = StandardDevice(NAMES)
        device.inject(fault)   # the first request's answer
    results = check(tmp_path, device, control=False,
                    timeout=0.5 if breaks == "V-DX-4" else TIMEOUT)
    (failed,) = [row for row in results.rows() if row.verdict == FAIL]
    assert failed.id == breaks
    assert seen in failed.evidence


#: each config fault of the standard device: the requirement it breaks,
#: and the others that break with it
CONFIG_FAULTS = [
    # Line 0 is beyond ngpio 0 but answers OK; four names for no line.
    (ConfigFault.ZERO_LINES, "V-D-2", {"V-DX-7", "V-D-13"}),
    # Four names for 65535 lines.
    (ConfigFault.TOO_MANY_LINES, "V-DX-1", {"V-D-13"}),
    (ConfigFault.NAMES_BEYOND_SPACE, "V-D-4", set()),
]


@pytest.mark.parametrize("fault, breaks, and_so", CONFIG_FAULTS,
                         ids=[fault.value for fault, _, _ in CONFIG_FAULTS])
def test_each_config_fault_fails_the_requirement_it_breaks(tmp_path, fault,
                                                           breaks, and_so):
    device = StandardDevice(NAMES, config_fault=fault)
    found = verdicts(check(tmp_path, device, control=False))
    assert ids(found, FAIL) == {breaks} | and_so


def silent_backend(path, stop):
    """Accepts one front end and says nothing until ``stop`` is set."""
    return one_connection(path, lambda conn: stop.wait(30))


def test_a_backend_that_says_nothing_fails_in_bounded_time(tmp_path,
                                                           capsys):
    path = str(tmp_path / "silent.sock")
    stop = threading.Event()
    thread = silent_backend(path, stop)
    started = time.monotonic()
    status = cli.main(["device", "-s", path, "--timeout", "0.5"])
    elapsed = time.monotonic() - started
    stop.set()
    thread.join(5)
    assert status == 1 and elapsed < 5
    out = capsys.readouterr().out
    assert "GET_FEATURES: no reply within 0.5 s" in out
    assert "not reached: the backend did not answer GET_FEATURES" in out


def test_a_backend_that_hangs_up_at_once_fails(tmp_path, capsys):
    path = str(tmp_path / "gone.sock")
    proc = subprocess.Popen([sys.executable, "-c", (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "s.bind(sys.argv[1]); s.listen(1); print('up', flush=True)\n"
        "s.accept()[0].close()\n"), path], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "up\n"
    started = time.monotonic()
    status = cli.main(["device", "-s", path, "--timeout", "2"])
    assert status == 1 and time.monotonic() - started < 5
    assert proc.wait(5) == 0
    rows = capsys.readouterr().out
    assert "hung up" in rows.split("\nVU-2")[0]
    # Its socket file outlives it: nothing accepts there any more.
    assert cli.main(["device", "-s", path]) == 2


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "virtio_gpio.conformance"]
                          + list(args), capture_output=True, text=True,
                          timeout=60, cwd=ROOT)


def test_no_backend_is_exit_status_2_in_one_line(tmp_path):
    proc = run_cli("device", "-s", str(tmp_path / "none.sock"))
    assert proc.returncode == 2 and not proc.stdout
    assert proc.stderr.splitlines() == [
        "vgpio-conform: cannot connect to %s: No such file or directory"
        % (tmp_path / "none.sock")]


def test_no_control_socket_is_exit_status_2(tmp_path):
    with served(tmp_path, StandardDevice(NAMES)) as (sock, ctl):
        with pytest.raises(CannotConnect, match="control socket"):
            check_device(sock, control=str(tmp_path / "no.ctl"))


@pytest.mark.parametrize("args", [
    ["device"], ["device", "-s", "x", "--format", "xml"],
    ["device", "-s", "x", "--timeout", "0"], ["probe"], []])
def test_bad_usage_is_exit_status_2_in_one_line(args):
    proc = run_cli(*args)
    assert proc.returncode == 2 and not proc.stdout
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.endswith("(see --help)\n")


def test_our_backend_as_a_process(tmp_path):
    # What a user runs: both tools as processes, over the sockets alone.
    sock, ctl = str(tmp_path / "gpio.sock"), str(tmp_path / "gpio.ctl")
    backend = vu.spawn(sock, ctl, ["--protocol", "standard", "--names",
                                   ",".join(NAMES), "--once"])
    try:
        proc = run_cli("device", "-s", sock, "--control", ctl, "--format",
                       "json", "--timeout", "1", "--hold", str(HOLD))
        assert backend.wait(10) == 0   # --once: it left with the checker
    finally:
        if backend.poll() is None:
            backend.kill()
            backend.wait()
    assert proc.returncode == (1 if KNOWN_GAPS else 0), proc.stderr
    report = json.loads(proc.stdout)
    assert {row["id"] for row in report["requirements"]
            if row["verdict"] == FAIL} == KNOWN_GAPS


def test_json_holds_the_same_rows(tmp_path, capsys):
    device = StandardDevice(NAMES)
    device.inject(Fault.SHORT_LEN)
    with served(tmp_path, device) as (sock, ctl):
        status = cli.main(["device", "-s", sock, "--format", "json",
                           "--hold", str(HOLD)])
    report = json.loads(capsys.readouterr().out)
    assert status == 1 and report["conformant"] is False
    assert [row["id"] for row in report["requirements"]] == \
        [r.id for r in REQUIREMENTS]
    (failed,) = [row for row in report["requirements"]
                 if row["verdict"] == FAIL]
    assert failed["id"] == "V-D-1" and failed["evidence"] == (
        "GET_DIRECTION(0, 0) 0200000000000000 -> 00 (used 1)")
    assert report["counts"] == {PASS: 34, FAIL: 1, NOT_APPLICABLE: 10}
    assert report["socket"] == sock and report["control"] is None


def test_a_conformant_run_is_exit_status_0(tmp_path, capsys):
    with served(tmp_path, StandardDevice(NAMES)) as (sock, ctl):
        assert cli.main(["device", "-s", sock, "--hold", str(HOLD)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        "35 pass, 0 fail, 10 not applicable: conformant"


# -- the documents ------------------------------------------------------------

def table(path, name):
    """The rows of the list-table called ``name``, as lists of cell text."""
    with open(path, encoding="utf-8") as f:
        doctree = docutils.core.publish_doctree(f.read(), settings_overrides={
            "report_level": 5, "halt_level": 5})
    for found in doctree.findall(nodes.table):
        if name in found["names"]:
            return [[" ".join(cell.astext().split()) for cell in row.children]
                    for row in list(found.findall(nodes.row))[1:]]
    raise AssertionError("no table %r in %s" % (name, path))


def test_the_kit_page_shows_the_table_of_the_code(ours):
    rows = table(KIT, "device-checker-requirements")
    found = verdicts(ours)
    assert rows == [[r.id, r.section, r.statement,
                     ", ".join(r.needs.split()), found[r.id]]
                    for r in REQUIREMENTS]


def test_every_device_statement_of_conformance_rst_is_checked_or_said_not():
    listed = [row[0] for row in table(CONFORMANCE, "virtio-device")]
    ours = [r.id for r in REQUIREMENTS if r.id.startswith("V-D-")]
    assert sorted(ours) == sorted(listed)
    assert len({r.id for r in REQUIREMENTS}) == len(REQUIREMENTS)
    assert all(r.same_as in ours for r in REQUIREMENTS if r.same_as)
