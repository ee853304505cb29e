"""The standard protocol with interrupts: UML + a driver + our backend.

QEMU 7.2 withholds VIRTIO_GPIO_F_IRQ (see test_e2e_qemu_standard.py);
UML's virtio_uml attaches our backend as device ID 41 with the feature
negotiated, so the eventq path (irq buffers held per line, completed on
edges) is exercised here, with our module and with Linux's gpio-virtio.
"""

import os
import shutil

import pytest

from e2e_helpers import KERNEL_SRC, Backend, build_gpio_probe
from virtio_gpio import drivers
from virtio_gpio.console import ConsoleGuest

pytestmark = pytest.mark.system

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = ["u0", "u1", "u2", "u3"]


@pytest.fixture(scope="module", params=["ours", "upstream"])
def run(request, uml_kernel, linux_source, tmp_path_factory):
    work = str(tmp_path_factory.mktemp("umlstd-" + request.param))
    shutil.copy(drivers.build(request.param, uml_kernel, work,
                              kernel_src=KERNEL_SRC,
                              linux_source=linux_source, arch="um"),
                os.path.join(work, "driver.ko"))
    build_gpio_probe(os.path.join(work, "gpio-probe"))
    with open(os.path.join(ROOT, "tests", "guest", "std-init.sh")) as f:
        init = os.path.join(work, "init.sh")
        with open(init, "w") as out:
            out.write(f.read().replace("@DIR@", work))
    os.chmod(init, 0o755)
    backend = Backend(work, "std", "--protocol", "standard",
                      "--names", ",".join(NAMES), "--once")
    sock = backend.sock
    guest = ConsoleGuest(
        [os.path.join(uml_kernel, "linux"), "mem=256M", "rootfstype=hostfs",
         "rootflags=/", "rw", "init=" + init, "con=null", "con0=null,fd:1",
         "ssl=null", "virtio_uml.device=%s:41" % sock],
        log_path=os.path.join(work, "guest.log"))
    edges = []
    try:
        guest.expect("EDGES-READY", timeout=120)
        for i in range(6):
            backend(cmd="set_input", line=2, level=(i + 1) % 2)
            edges.append(guest.expect("EDGE "))
        guest.expect("STD-DMESG-END", timeout=60)
        guest.wait(60)
    finally:
        guest.kill()
    exit_code = backend.proc.wait(30)
    backend.stop()
    return {"lines": guest.lines, "edges": edges, "backend_exit": exit_code}


def test_names_and_values(run):
    for n, name in enumerate(NAMES):
        assert "LINE %d name=%s dir=in" % (n, name) in run["lines"]
    assert "RW-OK line=1 n=50" in run["lines"]


def test_eventq_edges_in_order_on_the_right_line(run):
    edges = [e.split() for e in run["edges"]]
    assert [e[1] for e in edges] == ["rising", "falling"] * 3
    assert all(e[3] == "line=2" for e in edges)


def test_clean_log_and_backend_exit(run):
    start = run["lines"].index("STD-DMESG-BEGIN")
    dmesg = run["lines"][start:run["lines"].index("STD-DMESG-END")]
    bad = ("BUG", "WARNING", "Oops", "Call Trace", "request failed",
           "dropped device", "setting line", "freeing line",
           "interrupt setup", "timed out")
    assert [l for l in dmesg if any(w in l for w in bad)] == []
    assert "STD-FAIL insmod" not in run["lines"]
    assert run["backend_exit"] == 0
