"""The 2020 protocol end to end under QEMU: device ID 30 over virtio-pci.

Debian's kernels (6.1 and 6.12) boot under QEMU 10 (TCG) with our backend
serving the 2020 protocol (``vgpio-vhost-user --protocol id30``)
through QEMU's generic vhost-user-device-pci, which takes the device ID,
the queue count and the config-space size from the command line and
fetches the config space itself from the backend (VHOST_USER_GET_CONFIG).
One boot per kernel runs every check: vgpio.ko binds device ID 30, the
chip carries the device name and line names of the config space, values
written read back and land in the backend's model, a level the host drives
reads back, edges the host raises arrive as HOST_LEVEL messages, the
module unloads and reloads with the device attached, and the kernel log
stays clean. The same checks run in User-Mode Linux in test_e2e_uml.py.

QEMU 10.0 will not let ``-device`` create vhost-user-device-pci; see
:func:`virtio_gpio.guests.qemu.generic_vhost_user_qemu` for the QEMU used.
"""

import time

import pytest

from e2e_helpers import (KERNEL_SRC, Backend, assert_host_edges,
                         drive_host_edges, qemu_initramfs)
from virtio_gpio.guests import drivers, kernels, qemu
from virtio_gpio.devices import Id30Device
from virtio_gpio.wire.id30 import DEVICE_ID

SERIES = ("6.1", "6.12")
NAMES = ["id30-a", "id30-b", "id30-c", "id30-d", "id30-e", "id30-f"]
DEVICE_NAME = "vgpio-id30"
#: an input the host drives high before the guest boots
HOST_LEVEL_LINE = 3
#: the input line the host toggles through the control socket
HOST_EDGE_LINE = 2
HOST_EDGES = 6
#: the line written and read back, and how often
RW_LINE, RW_COUNT = 1, 50
CYCLES = 10
#: both queues of the 2020 protocol: device->driver messages, requests
NUM_QUEUES = 2


def config_size():
    """Bytes of the config space the backend serves: all QEMU must expose."""
    return len(Id30Device(NAMES, name=DEVICE_NAME).config_space())


@pytest.fixture(scope="module", params=SERIES)
def run(request, tmp_path_factory, timings):
    series = request.param
    work = tmp_path_factory.mktemp("id30-%s" % series)
    begin = time.monotonic()
    binary = qemu.generic_vhost_user_qemu()
    kdir, release = kernels.debian_headers(series)
    module = drivers.build("ours", kdir, str(work), kernel_src=KERNEL_SRC)
    values = {"LEVEL_LINE": HOST_LEVEL_LINE, "RW_LINE": RW_LINE,
              "RW_COUNT": RW_COUNT, "EDGE_LINE": HOST_EDGE_LINE,
              "HOST_EDGES": HOST_EDGES, "CYCLES": CYCLES}
    initrd = qemu_initramfs(work, release, {"vgpio.ko": module},
                            "qemu-id30-init.sh", values)
    backend = Backend(str(work), "id30", "--protocol", "id30", "--names",
                      ",".join(NAMES), "--name", DEVICE_NAME, "--once")
    result = {"series": series, "edges": [], "edge_error": None}
    guest = None
    try:
        backend(cmd="set_input", line=HOST_LEVEL_LINE, level=1)
        guest = qemu.Guest(
            qemu.kernel_image(release), initrd, binary=binary,
            extra_args=qemu.vhost_user_device_args(
                backend.sock, DEVICE_ID, NUM_QUEUES, config_size()),
            log_path=str(work / "guest.log"))
        guest.expect("EDGES-READY", timeout=300)
        # The model after the write/read-back loop, which ran before.
        result["state"] = backend(cmd="state")
        drive_host_edges(guest, backend, result, HOST_EDGES, HOST_EDGE_LINE)
        guest.expect("ID30-DMESG-END", timeout=300)
        guest.wait(60)
        result["lines"] = guest.lines
        result["backend_exit"] = backend.proc.wait(30)
        result["backend_log"] = backend.text()
    finally:
        if guest is not None:
            guest.kill()
        backend.stop()
    timings.append("QEMU vhost-user-device-pci, 2020 protocol (Debian %s, "
                   "our backend): %.1f s" % (release,
                                             time.monotonic() - begin))
    return result


def test_bound_as_device_30_with_names_from_config(run):
    lines = run["lines"]
    assert "ID30-DEVICE 0x%04x" % DEVICE_ID in lines, lines[-40:]
    assert "ID30-BOUND vgpio" in lines
    assert "CHIP label=%s lines=%d" % (DEVICE_NAME, len(NAMES)) in lines
    for n, name in enumerate(NAMES):
        assert "LINE %d name=%s dir=in" % (n, name) in lines
    # The names could only come from the backend's config space, which
    # QEMU fetched with GET_CONFIG. The 2020 protocol has no feature bits.
    told = [l for l in run["backend_log"].splitlines()
            if "driver features" in l]
    assert told and all(int(l.split()[-1], 16) & 0xFFFFFF == 0
                        for l in told), told


def test_values_round_trip_and_reach_the_model(run):
    lines = run["lines"]
    assert "RW-OK line=%d n=%d" % (RW_LINE, RW_COUNT) in lines
    line = run["state"]["lines"][RW_LINE]
    # gpio-probe rw writes (i + line) & 1 at step i, then reads it back.
    assert (line["direction"], line["value"], line["requested"]) == (
        "out", (RW_COUNT - 1 + RW_LINE) & 1, True), line
    assert "ID30-HOST-LEVEL GOT 1" in lines


def test_host_edges_arrive_as_host_level_messages(run):
    assert_host_edges(run, HOST_EDGES, HOST_EDGE_LINE, "ID30-EDGES rc=0")


def test_not_bound_nor_touched_without_bind_id30(run):
    # ID 30 is the virtio spec's video encoder: unasked, the module leaves
    # the device as virtio-pci registered it (status ACKNOWLEDGE).
    assert "ID30-UNASKED 0x00000001 unbound" in run["lines"]


def test_load_cycles_with_the_device_attached(run):
    assert "RMMOD rc=0" in run["lines"]
    assert "CYCLES %d" % CYCLES in run["lines"]


def test_clean_log_and_backend_exit(run):
    lines = run["lines"]
    dmesg = lines[lines.index("ID30-DMESG-BEGIN"):lines.index("ID30-DMESG-END")]
    assert qemu.kernel_log_problems(dmesg) == []
    assert [l for l in dmesg if any(w in l for w in (
        "device rejected", "request failed", "dropped device message",
        "timed out", "config change ignored"))] == []
    probes = [l for l in dmesg if "%s: %d lines" % (DEVICE_NAME, len(NAMES))
              in l]
    assert len(probes) == 1 + CYCLES, probes
    assert "ID30-FAIL insmod" not in lines
    assert run["backend_exit"] == 0
