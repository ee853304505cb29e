"""A bench file's two devices, served by one backend process, in one
guest: examples/benches/buttons-and-leds.toml under vgpio-guest.

The guest finds both chips, drives the panel's power LED while it reads
the board's power-good input (the file wires one to the other), and
samples the board's 10 Hz clock (a square wave the file generates). The
backend records it all with --trace, and vgpio-trace draws the trace: the
picture in the user guide's "Waveform traces" comes from this run
(``VGPIO_TRACE_PNG=Documentation/_static/bench-trace.png``).
"""

import os
import shutil
import subprocess
import sys

import pytest

from checkout import ROOT
from guest_run import BOOT_TIMEOUT, GuestRun
from virtio_gpio.trace.reader import read
from virtio_gpio.vhost_user.control import send_control, start

BENCH = os.path.join(ROOT, "examples", "benches", "buttons-and-leds.toml")
BIN = os.path.dirname(sys.executable)

IN_GUEST = r"""
set -e
gpiodetect
set -- $(gpiofind led-power); LED="$1 $2"
set -- $(gpiofind power-good); GOOD="$1 $2"
set -- $(gpiofind clock); CLOCK="$1 $2"
echo "FOUND led=$LED good=$GOOD clock=$CLOCK"
echo "GOOD-BEFORE $(gpioget $GOOD)"
set -- $LED
gpioset --mode=time --sec=2 $1 $2=1 &
sleep 0.5
echo "GOOD-WHILE-LED $(gpioget $GOOD)"
wait
gpioset $1 $2=0
echo "GOOD-AFTER $(gpioget $GOOD)"
samples=""
for i in 1 2 3 4 5 6 7 8 9 10; do
    samples="$samples$(gpioget $CLOCK)"
    sleep 0.03
done
echo "CLOCK $samples"
"""


def line_value(lines, prefix):
    (line,) = [line for line in lines if line.startswith(prefix + " ")]
    return line.split(" ", 1)[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = str(tmp_path_factory.mktemp("bench"))
    bench = shutil.copy(BENCH, work)   # its sockets go beside it
    control = os.path.join(work, "control.ctl")
    trace = os.path.join(work, "bench.vcd")
    with open(os.path.join(work, "backend.log"), "w") as log:
        backend = start(["--config", bench, "--trace", trace, "-v"],
                        control, log=log)
        guest = None
        try:
            devices = send_control(control, {"cmd": "devices"})["devices"]
            guest = GuestRun(*sum((["-s", d["socket"]] for d in devices), []),
                             "--run", IN_GUEST)
            status = guest.finish(BOOT_TIMEOUT)
            board = send_control(control, {"cmd": "state",
                                           "device": "board"})
        finally:
            if guest is not None:
                guest.kill()
            if backend.poll() is None:
                send_control(control, {"cmd": "stop"})
                backend.wait(30)
    png = os.environ.get("VGPIO_TRACE_PNG") or os.path.join(work, "bench.png")
    drawn = subprocess.run([os.path.join(BIN, "vgpio-trace"), trace, "-o",
                            png, "--title", "buttons-and-leds.toml, one "
                            "guest"], capture_output=True, text=True,
                           timeout=120)
    return {"status": status, "out": guest.out, "err": guest.err,
            "devices": devices, "board": board, "trace": trace, "png": png,
            "drawn": drawn}


def test_one_backend_serves_both_devices_to_one_guest(run):
    assert run["status"] == 0, "\n".join(run["out"] + run["err"])
    assert [d["name"] for d in run["devices"]] == ["panel", "board"]
    assert sum(line.startswith("gpiochip") for line in run["out"]) == 2


def test_the_wire_carries_the_guests_led_to_the_other_device(run):
    lines = run["out"]
    assert line_value(lines, "GOOD-BEFORE") == "0"
    assert line_value(lines, "GOOD-WHILE-LED") == "1"
    assert line_value(lines, "GOOD-AFTER") == "0"
    assert run["board"]["lines"][1]["name"] == "power-good"


def test_the_generated_clock_runs_in_the_guest(run):
    samples = line_value(run["out"], "CLOCK")
    assert set(samples) == {"0", "1"}, samples


def test_the_trace_holds_both_sides_and_draws(run):
    led, good = read(run["trace"]).select(["panel.led-power",
                                           "board.power-good"])
    assert [v for _, v in led.levels if v is not None][-2:] == [1, 0]
    assert "guest" in [side for _, side in led.changed_by]
    assert 1 in [v for _, v in good.levels]
    assert "host" in [side for _, side in good.changed_by]
    assert run["drawn"].returncode == 0, run["drawn"].stderr
    with open(run["png"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
