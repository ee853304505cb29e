"""End to end in a real kernel: UML guest + vgpio.ko + vhost-user backend.

Every check runs once per UML kernel series (e2e_helpers.UML_SERIES: Debian's
6.1 LTS, patched so it boots on hosts with a large XSAVE area, and the
newest series Debian carries). One guest boot runs tests/guest/e2e-init.sh against three backends: the
main device (8 named lines) and two with invalid config spaces, which the
driver must refuse at probe. The script prints markers; at each "SYNC x"
this test checks the backend's model or injects a fault, then lets the
guest go on. A second boot checks that the backend serves a restarted
guest.
"""

import os
import re
import signal
import statistics
import subprocess

import pytest

from checkout import ROOT
from e2e_helpers import (GPIOLIB_HELD_LINE_LABEL, UML_SERIES, Backend,
                         build_gpio_probe, debug_kernel_findings,
                         guest_session, render_init, uml_module)
from virtio_gpio.guests import uml

NAMES = ["led0", "led1", "in2", "mon3", "edge4", "par5", "par6", "par7"]
BAD_LOG = re.compile(r"\bBUG\b|WARNING|Oops|Call Trace|blocked for more than|"
                     r"hung_task|refcount|list_del|Kernel panic")


#: lines of the device that answers nothing; at 500 ms per timeout, one
#: timeout per line at probe would cost 8 s
SILENT_LINES = 16

#: names a hostile device gives: printf formats (6.1's gpiod_export()
#: uses a line name as one), a path separator, and a forged log line;
#: only the last, clean one may reach the kernel
HOSTILE_NAMES = ["%s%s%px", "a/b", "x\nvgpio: forged", "", "ok"]
HOSTILE_NAME = "%px%n\nforged"


def block(lines, name):
    start = lines.index(name + "-BEGIN")
    return lines[start + 1:lines.index(name + "-END", start)]


@pytest.fixture(scope="module", params=UML_SERIES)
def run(request, uml_build, tmp_path_factory):
    uml_kernel, source = uml_build(request.param)
    work = str(tmp_path_factory.mktemp("e2e-" + request.param))
    uml_module(uml_kernel, work)
    build_gpio_probe(os.path.join(work, "gpio-probe"))
    # Every device of this run speaks the 2020 protocol (the guest
    # attaches them as device ID 30).
    main = Backend(work, "main", "--protocol", "id30", "--names",
                   ",".join(NAMES), "--name", "vgpio-e2e")
    bogus = [Backend(work, "version2", "--protocol", "id30",
                     "--config-fault", "version2", "--once"),
             Backend(work, "names", "--protocol", "id30", "--config-fault",
                     "names_beyond_space", "--once"),
             Backend(work, "silent", "--protocol", "id30", "--name", "silent",
                     "--lines", str(SILENT_LINES), "--fault", "drop:100000",
                     "--once"),
             Backend(work, "hostile", "--protocol", "id30", "--names",
                     ",".join(HOSTILE_NAMES), "--name", HOSTILE_NAME,
                     "--unchecked-names", "--once")]
    result = {"work": work, "main": main, "bogus": bogus,
              "series": request.param, "kernel": uml_kernel, "source": source}

    def go(name):
        open(os.path.join(work, "go." + name), "w").close()

    guest = uml.Guest(uml_kernel, render_init("e2e-init.sh", work),
                      [main.sock] + [b.sock for b in bogus],
                      log_path=os.path.join(work, "guest.log"))
    with guest_session(guest, main, *bogus, stop=False):
        guest.expect("SYNC set")
        result["after_set"] = main(cmd="state")
        main(cmd="set_input", line=2, level=1)
        go("set")
        guest.expect("SYNC get")
        result["after_get"] = main(cmd="state")
        go("get")
        # The kernel labels a both-edges event by reading the level in its
        # irq thread, so each toggle waits until the guest saw the last one.
        guest.expect("GPIOMON-READY")
        for level in (1, 0):
            main(cmd="set_input", line=3, level=level)
            guest.expect("GPIOMON event")
        guest.expect("EDGES-READY")
        # UML's clock is not the host's (it differed by ~3 ms here), so
        # the latency is taken on the host: toggle in the backend to the
        # guest program's wake-up line arriving on the console.
        toggles, edges, arrivals = [], [], []
        for i in range(20):
            toggles.append(main(cmd="set_input", line=4, level=(i + 1) % 2)["time"])
            edges.append(guest.expect("EDGE "))
            arrivals.append(guest.arrival)
        result.update(toggles=toggles, edges=edges, arrivals=arrivals)
        for fault in ("drop", "corrupt_line", "short_len", "duplicate"):
            guest.expect("SYNC fault-" + fault)
            main(cmd="inject", fault=fault)
            go("fault-" + fault)
        guest.expect("E2E-END", timeout=300)
        result["exit"] = guest.wait()
    result["lines"] = guest.lines
    result["final"] = main(cmd="state")
    result["bogus_exit"] = [b.proc.wait(30) for b in bogus]

    # The same backend serves a guest that boots again.
    again = uml.Guest(uml_kernel, render_init("reconnect-init.sh", work), [main.sock],
                      log_path=os.path.join(work, "guest2.log"))
    with guest_session(again, main, stop=False):
        result["reconnect"] = again.expect("RECONNECT", timeout=120)
        again.wait()
    result["connections"] = main(cmd="state")["connections"]
    main.proc.send_signal(signal.SIGTERM)
    result["main_exit"] = main.proc.wait(30)
    result["main_log"] = main.text()
    for b in bogus:
        b.stop()
    main.stop()
    yield result


def host_xstate_size():
    """The host's NT_X86_XSTATE size, measured apart from UML."""
    work = os.path.join(ROOT, "build")
    os.makedirs(work, exist_ok=True)
    binary = os.path.join(work, "xstate-size")
    subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", binary,
                    os.path.join(ROOT, "tests", "guest", "xstate-size.c")],
                   check=True)
    return int(subprocess.run([binary], check=True, capture_output=True,
                              text=True).stdout)


def test_fp_state_transfers_sized_by_the_host(run):
    """The guest moves FP state in the host's XSAVE size, not a fixed one.

    Hosts with AMX refuse UML 6.1's fixed 2696 bytes (EFAULT at the first
    PTRACE_SETREGSET); tools/uml-patches/6.1 makes UML ask the host. The
    boot line shows the probe ran and found the size the host reports,
    measured apart by tests/guest/xstate-size.c. A real host takes only
    its own path; the AMX and refusal paths run against a model of the
    host in tests/system/test_uml_fp_patch.py. The newest series has the upstream
    fix.
    """
    registers = os.path.join("arch", "x86", "um", "os-Linux", "registers.c")
    if run["series"] == "6.1":
        built_from = os.path.join(os.path.dirname(run["kernel"]), "source")
        with open(os.path.join(built_from, registers)) as f:
            assert "host_fp_size = iov.iov_len" in f.read()
        # The patch went into a private copy; the shared tree is untouched.
        with open(os.path.join(run["source"], registers)) as f:
            assert "host_fp_size" not in f.read()
        line = next(l for l in run["lines"]
                    if l.startswith("x86/um: host FP state "))
        size, kept = map(int, re.match(
            r"x86/um: host FP state (\d+) bytes \(NT_X86_XSTATE\), (\d+) kept",
            line).groups())
        assert size == host_xstate_size(), line
        assert kept == min(size, 2696), line
    else:
        with open(os.path.join(run["source"], registers)) as f:
            text = f.read()
        assert "host_fp_size = iov.iov_len" in text
        assert ".iov_len = host_fp_size" in text
        assert not os.path.isdir(os.path.join(os.path.dirname(run["kernel"]),
                                              "source"))
    assert "E2E-END" in run["lines"]


def test_chip_appears_with_device_name_and_line_names(run):
    detect = block(run["lines"], "GPIODETECT")
    assert any(re.match(r"gpiochip\d+ \[vgpio-e2e\] \(8 lines\)", l) for l in detect)
    info = "\n".join(block(run["lines"], "GPIOINFO"))
    for number, name in enumerate(NAMES):
        assert re.search(r"line +%d: +\"%s\"" % (number, name), info), info


def test_gpioset_and_gpioget_round_trip_visible_in_model(run):
    assert "GPIOSET rc=0" in run["lines"]
    line1 = run["after_set"]["lines"][1]
    assert (line1["direction"], line1["value"], line1["requested"]) == (
        "out", 1, True)
    assert "GPIOGET 1" in run["lines"]  # line 2 driven high by the backend
    assert run["after_get"]["lines"][2]["direction"] == "in"
    info = "\n".join(block(run["lines"], "GPIOINFO2"))
    assert re.search(r'line +1: +"led1" +unused +output', info), info
    assert re.search(r'line +2: +"in2" +unused +input', info), info


def test_gpiomon_sees_rising_and_falling_edges(run):
    assert "GPIOMON GPIOMON rc=0" in run["lines"]
    events = [l for l in run["lines"] if l.startswith("GPIOMON event")]
    assert len(events) == 2
    assert "RISING EDGE" in events[0] and "FALLING EDGE" in events[1]
    assert all("offset: 3" in e for e in events)


def test_parallel_requests_from_several_processes(run):
    ok = sorted(l for l in run["lines"] if l.startswith("RW-OK"))
    assert ok == ["RW-OK line=%d n=100" % l for l in (5, 6, 7)]


def test_faults_give_clear_errors(run):
    faults = {l.split()[1]: l for l in run["lines"] if l.startswith("FAULT ")}
    for kind in ("drop", "corrupt_line", "short_len"):
        assert "rc=1" in faults[kind] and "timed out" in faults[kind], faults[kind]
    assert "rc=0" in faults["duplicate"]
    # Every faulted line works again and reads what the device holds.
    values = [run["final"]["lines"][n]["value"] for n in (0, 5, 6, 7)]
    assert [l for l in run["lines"] if l.startswith("AFTER-FAULTS")] == [
        "AFTER-FAULTS %d %d %d %d" % tuple(values)]
    # The kernel log says why each bad message was dropped.
    log = "\n".join(run["lines"])
    assert "dropped device message: line number beyond ngpio (-34)" in log
    assert "dropped device message: message shorter than 8 bytes (-74)" in log
    assert "dropped device message: reply without a matching request (-42)" in log


def test_bogus_config_refused_at_probe_with_reason(run):
    log = "\n".join(run["lines"])
    assert "device rejected: unsupported protocol version" in log


def test_id30_devices_are_left_alone_unless_asked(run):
    # Loaded without bind_id30, the module binds none of the five ID 30
    # devices and their status stays what the transport set (ACKNOWLEDGE).
    unasked = [l.split()[1:] for l in run["lines"]
               if l.startswith("ID30-UNASKED ")]
    assert len(unasked) == 5, unasked
    assert all(u[1:] == ["status=0x00000001", "driver=none"]
               for u in unasked), unasked


def test_a_silent_device_costs_probe_one_timeout(run):
    # Registering asks all 16 lines' directions; after the first timeout
    # the driver asks nothing more until the device answers.
    log = "\n".join(run["lines"])
    assert ("no reply within 500 ms: requests fail with ETIMEDOUT until "
            "the device answers again") in log
    assert any(re.match(r"gpiochip\d+ \[silent\] \(%d lines\)" % SILENT_LINES,
                        l) for l in block(run["lines"], "GPIODETECT"))
    ms = int(next(l for l in run["lines"]
                  if l.startswith("INSMOD-MS ")).split()[1])
    assert ms < SILENT_LINES * 500 / 2, ms


def test_names_past_the_config_window_are_left_out_not_read(run):
    # A 4 KiB names block: the module reads no config past 256 bytes (on
    # virtio-pci, reading on was a BUG_ON) and binds the lines unnamed.
    log = "\n".join(run["lines"])
    assert ("dropped device message: line names past the 256 config bytes "
            "every transport serves left out (-7)") in log
    assert "device rejected: line-names block" not in log


def test_hostile_names_are_left_out_and_never_logged_raw(run):
    # The chip registers, named after its virtio device, with only the
    # clean line name; each refusal is logged (once per probe: the 20 load
    # cycles probe it again), and no log line is forged.
    detect = block(run["lines"], "GPIODETECT")
    chip = [l for l in detect if l.endswith("(%d lines)" % len(HOSTILE_NAMES))]
    assert len(chip) == 1 and re.match(r"gpiochip\d+ \[virtio\d+\] ",
                                       chip[0]), detect
    info = "\n".join(block(run["lines"], "HOSTILE-INFO"))
    assert re.search(r'line +4: +"ok"', info), info
    for line in range(4):
        assert re.search(r"line +%d: +unnamed" % line, info), info
    dmesg = block(run["lines"], "E2E-DMESG")
    for why in ("line names holding '%', '/' or unprintable bytes left out",
                "device name holding '%', '/' or unprintable bytes left out"):
        assert len([l for l in dmesg
                    if l.endswith("dropped device message: %s (-22)" % why)
                    ]) >= 1, why
    assert not any("forged" in l for l in dmesg)


def test_unbind_with_requests_in_flight(run):
    assert "UNBIND rc=0" in run["lines"]
    reader = next(l for l in run["lines"] if l.startswith("READER "))
    assert reader == "READER rc=1 get: No such device", reader
    assert "UNBOUND 0" in run["lines"]


def test_unload_and_20_cycles_leave_a_clean_log(run):
    assert "RMMOD rc=0" in run["lines"]
    assert "CYCLES 20" in run["lines"]
    dmesg = block(run["lines"], "E2E-DMESG")
    assert [l for l in dmesg if BAD_LOG.search(l)] == []
    assert run["exit"] == 0


def test_debug_kernel_reports_nothing(run):
    # The newest series runs as a debug kernel (lockdep, atomic-sleep
    # checks, debug objects, KASAN, kmemleak): through every step above,
    # faults, unbind with requests in flight and 20 load cycles included,
    # it must report nothing. 6.1 is the plain kernel users run.
    debug = uml.e2e_debug(uml.tree_series(run["source"]))
    assert debug_kernel_findings(run["lines"], "E2E", debug, known_leaks=[
        GPIOLIB_HELD_LINE_LABEL]) == []


def test_backends_exit_cleanly_and_serve_a_restarted_guest(run):
    assert run["bogus_exit"] == [0, 0, 0, 0]
    assert run["reconnect"] == "RECONNECT 1"
    assert run["connections"] == 2
    assert run["main_exit"] == 0
    assert "front end went away" in run["main_log"]
    assert "signal: shutting down" in run["main_log"]


def test_latency_figures(run, timings):
    series = run["series"]
    def figures(prefix):
        line = next(l for l in run["lines"] if l.startswith(prefix))
        median, p99, rate = map(float, line.split()[1:4])
        return median, p99, rate

    for prefix, what in (("LAT-GET", "get"), ("LAT-SET", "set")):
        median, p99, rate = figures(prefix)
        assert 0 < median <= p99
        timings.append("UML %s guest %s: median %.0f us, p99 %.0f us, "
                       "%.0f ops/s" % (series, what, median, p99, rate))
    edges = [l.split() for l in run["edges"]]
    assert len(edges) == 20
    assert [e[1] for e in edges] == ["rising", "falling"] * 10
    assert all(e[3] == "line=4" for e in edges)
    lat = sorted((a - t) * 1e6 for a, t in zip(run["arrivals"], run["toggles"]))
    assert all(l > 0 for l in lat), lat
    timings.append("UML %s edge latency, backend toggle -> guest program "
                   "awake (seen on the host console, an upper bound): median "
                   "%.0f us, max of 20 %.0f us"
                   % (series, statistics.median(lat), lat[-1]))
