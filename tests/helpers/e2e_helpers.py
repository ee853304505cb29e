"""Shared pieces of the end-to-end tests: the backend process, gpio-probe."""

import contextlib
import json
import os
import re
import shutil
import subprocess
import time

from checkout import ROOT
from virtio_gpio.vhost_user.control import send_control, spawn


class Backend:
    def __init__(self, workdir, name, *args):
        self.sock = os.path.join(workdir, name + ".sock")
        self.control = os.path.join(workdir, name + ".ctl")
        self.log_path = os.path.join(workdir, name + ".log")
        self.log = open(self.log_path, "w")
        try:
            self.proc = spawn(self.sock, self.control,
                                          ["-v"] + list(args), self.log)
        except RuntimeError as exc:
            output = self.text()
            self.log.close()
            raise AssertionError("%s:\n%s" % (exc, output)) from None

    def __call__(self, **command):
        return send_control(self.control, command)

    def text(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@contextlib.contextmanager
def guest_session(guest, *backends, stop=True):
    """Run a test's block with ``guest`` up: when it ends the guest is
    killed and ``backends`` are stopped; with ``stop`` false they are left
    to exit on their own (``--once``) unless the block failed. A guest
    that timed out inside it, waiting for a line or for its exit, raises
    with each backend's log tail added, the other half of what a hang in
    CI leaves to go on."""
    failed = True
    try:
        yield guest
        failed = False
    except TimeoutError as exc:
        exc.args = (str(exc) + _log_tails(backends),)
        raise
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError("%s%s%s" % (exc, guest.where_it_hangs(),
                                       _log_tails(backends))) from exc
    finally:
        guest.kill()
        if stop or failed:
            for backend in backends:
                backend.stop()


def _log_tails(backends):
    return "".join("\n%s ends:\n%s" % (os.path.basename(b.log_path),
                                        b.text()[-3000:]) for b in backends)


KERNEL_SRC = os.path.join(ROOT, "kernel")
#: the guests' scripts: UML's init scripts, the QEMU initramfs' /init parts
GUEST = os.path.join(ROOT, "tests", "guest")

#: the UML kernel series the end-to-end runs boot (tools/linux-source
#: arguments): Debian's 6.1 LTS, with tools/uml-patches/6.1, and the newest
#: series Debian carries
UML_SERIES = ("6.1", "newest")


def debug_series():
    """The UML_SERIES whose end-to-end kernel is the debug kernel."""
    from virtio_gpio.guests import uml
    return [series for series in UML_SERIES if uml.e2e_debug(series)]


def build_gpio_probe(path, static=False):
    """Compile tools/guest/gpio-probe.c (static for a busybox initramfs)."""
    from virtio_gpio.guests import drivers
    return drivers.build_gpio_probe(
        os.path.join(ROOT, "tools", "guest", "gpio-probe.c"), path, static)


def qemu_initramfs(work, release, modules, script, values=None):
    """The initramfs of a QEMU boot of Debian's kernel ``release``.

    It holds busybox, a static gpio-probe, ``modules`` ({file name in /lib:
    host path}) and an /init that mounts the pseudo file systems
    (tests/guest/qemu-init-head.sh), loads virtio_pci with what it needs
    from ``release``, then runs tests/guest/``script``, in which ``@KEY@``
    becomes ``values[KEY]``. Returns the initramfs path.
    """
    from virtio_gpio.guests import qemu

    probe = build_gpio_probe(os.path.join(str(work), "gpio-probe"),
                             static=True)
    deps = qemu.load_order(["virtio_pci"], release)
    files = {"/lib/%s.ko" % name: path for name, path in deps}
    files.update(("/lib/" + name, path) for name, path in modules.items())
    files["/bin/gpio-probe"] = probe
    init = (guest_script("qemu-init-head.sh")
            + "".join("insmod /lib/%s.ko\n" % name for name, _ in deps)
            + guest_script(script, **(values or {})))
    return qemu.build_initramfs(os.path.join(str(work), "initrd.gz"), init,
                                files)


def assert_host_edges(run, count, line, done):
    """The guest saw ``count`` host-driven edges on ``line``, alternating
    rising and falling, and its gpio-probe printed ``done``."""
    assert run["edge_error"] is None, run["edge_error"]
    edges = [e.split() for e in run["edges"]]
    assert [e[1] for e in edges] == ["rising", "falling"] * (count // 2)
    assert all(e[3] == "line=%d" % line for e in edges), edges
    assert done in run["lines"]


def drive_host_edges(guest, backend, result, count, line):
    """Toggle ``line`` ``count`` times from the host, collecting the
    guest's "EDGE " lines in ``result["edges"]``; a missing one is
    recorded in ``result["edge_error"]`` so that the other checks of the
    run still happen."""
    try:
        for i in range(count):
            backend(cmd="set_input", line=line, level=(i + 1) % 2)
            result["edges"].append(guest.expect("EDGE ", timeout=30))
    except TimeoutError as exc:
        result["edge_error"] = str(exc)


#: kmemleak's own lines in the kernel log: its start at boot, and the count
#: a scan prints. Neither is a finding of the log scan: the leaks are read
#: from kmemleak itself (the KMEMLEAK block), where known ones can be told
#: apart.
KMEMLEAK_OWN = re.compile(r"\] kmemleak: (Kernel memory leak detector "
                          r"initialized \(mem pool available: \d+\)|\d+ new "
                          r"suspected memory leaks \(see "
                          r"/sys/kernel/debug/kmemleak\))$")


def kmemleak_objects(block):
    """kmemleak's report split into one list of lines per object."""
    objects = []
    for line in block:
        if line.startswith("unreferenced object ") or not objects:
            objects.append([])
        objects[-1].append(line)
    return objects


def assert_fell_silent_and_answered_again(log):
    """The module's kernel log ``log`` says the device fell silent (with
    the default timeout) and, later, that it answers again."""
    silent = [n for n, l in enumerate(log) if l.endswith(
        "no reply within 2000 ms: requests fail with ETIMEDOUT until the "
        "device answers again")]
    back = [n for n, l in enumerate(log)
            if l.endswith(": device answers again")]
    assert silent and back and back[-1] > silent[-1], log


def dmesg_block(lines, prefix):
    """The kernel log a guest printed between PREFIX-DMESG-BEGIN and
    PREFIX-DMESG-END (tests/guest/guest-lib.sh, report_and_power_off)."""
    start = lines.index(prefix + "-DMESG-BEGIN") + 1
    return lines[start:lines.index(prefix + "-DMESG-END", start)]


#: A leak of gpiolib's own, whatever the driver: when a line is released
#: after its chip was removed (an unbind while a process holds it), 7.3's
#: gpiod_free_commit() finds no chip and skips the whole release,
#: desc_set_label(desc, NULL) included, so the consumer label allocated at
#: request time is never freed. Give it to :func:`debug_kernel_findings`
#: as a known leak wherever a test unbinds under a held line.
GPIOLIB_HELD_LINE_LABEL = ("desc_set_label", "gpiod_request_commit")


def debug_kernel_findings(lines, prefix, debug=True, known_leaks=()):
    """What a debug kernel reported during a run: kmemleak's block (see
    tests/guest/guest-lib.sh) and every problem line of the kernel log
    (:func:`dmesg_block`). Empty when the run was clean. For a plain
    kernel (``debug`` false), only that it printed no kmemleak block.

    :param known_leaks: leaks of the kernel's own, each given as function
        names that all appear in the leaked object's allocation backtrace;
        such objects are left out
    """
    from virtio_gpio.guests import qemu
    if not debug:
        return ["kmemleak block from a plain kernel"] \
            if "KMEMLEAK-BEGIN" in lines else []
    if "KMEMLEAK-BEGIN" not in lines:
        return ["no kmemleak report: not a debug kernel?"]
    block = lines[lines.index("KMEMLEAK-BEGIN") + 1:lines.index("KMEMLEAK-END")]
    leaks = [line for leak in kmemleak_objects(block)
             if not any(all(any(l.strip().startswith(name + "+")
                                for l in leak) for name in known)
                        for known in known_leaks)
             for line in leak]
    dmesg = [line for line in dmesg_block(lines, prefix)
             if not KMEMLEAK_OWN.search(line)]
    return leaks + qemu.kernel_log_problems(dmesg)


def guest_script(name, **values):
    """The text of tests/guest/``name``, each @KEY@ in it replaced by
    ``values[KEY]``; a placeholder left without a value fails."""
    with open(os.path.join(GUEST, name)) as f:
        text = f.read()
    for key, value in values.items():
        text = text.replace("@%s@" % key, str(value))
    left = re.findall(r"@[A-Z][A-Z0-9_]*@", text)
    assert not left, "%s: no value for %s" % (name, sorted(set(left)))
    return text


def render_init(template, workdir, **values):
    """tests/guest/``template`` written to ``workdir`` as an executable
    init script: @DIR@ becomes ``workdir``, @GUEST@ tests/guest, and
    @KEY@ each ``values[KEY]``."""
    text = guest_script(template, **dict(values, DIR=workdir, GUEST=GUEST))
    path = os.path.join(workdir, template)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)
    return path


def uml_module(uml_kernel, workdir):
    """vgpio.ko built from a private copy of kernel/ for ``uml_kernel``,
    at ``workdir``/vgpio.ko."""
    from virtio_gpio.guests import drivers
    module = os.path.join(workdir, "vgpio.ko")
    os.replace(drivers.build("ours", uml_kernel, workdir,
                             kernel_src=KERNEL_SRC, arch="um"), module)
    return module


@contextlib.contextmanager
def qemu_standard_guest(series, driver, work, init, backend_args,
                        values=None, console_input=False, timings=None,
                        what="QEMU run"):
    """Boot Debian's ``series`` under QEMU with ``driver`` built for it and
    a vhost-user-gpio-pci device served by our backend (standard protocol,
    ``backend_args`` added, exiting with its front end); yields
    (guest, backend, release) and kills both when done.

    ``init`` names the script in tests/guest/ that /init runs after the
    mounts and virtio_pci (see :func:`qemu_initramfs`); ``@MODULE@`` in it
    becomes the name rmmod knows the driver by, ``@KEY@`` the value of
    ``KEY`` in ``values``.
    With ``timings``, the wall time from QEMU's start goes there as
    "``what`` (Debian RELEASE): N s".
    """
    from virtio_gpio.guests import drivers, kernels, qemu

    kdir, release = kernels.debian_headers(series)
    # Linux's own driver is built from the series' source tree.
    source = kernels.source(series) if driver == "upstream" else None
    module = drivers.build(driver, kdir, str(work), kernel_src=KERNEL_SRC,
                           linux_source=source)
    values = dict(values or {}, MODULE=drivers.MODULE_NAMES[driver])
    initrd = qemu_initramfs(work, release, {"driver.ko": module}, init,
                            values)
    backend = Backend(str(work), "std", "--protocol", "standard", "--once",
                      *backend_args)
    guest = None
    begin = time.monotonic()
    try:
        guest = qemu.Guest(qemu.kernel_image(release), initrd,
                           extra_args=qemu.vhost_user_gpio_args(backend.sock),
                           log_path=str(work / "guest.log"),
                           console_input=console_input)
        yield guest, backend, release
    finally:
        if guest is not None:
            guest.kill()
        backend.stop()
    if timings is not None:
        timings.append("%s (Debian %s): %.1f s"
                       % (what, release, time.monotonic() - begin))


def qemu_finish(guest, backend, result, prefix):
    """Wait for the guest's "<prefix>-DMESG-END" and power-off; collect
    its console and the backend's exit and log into ``result``."""
    guest.expect(prefix + "-DMESG-END", timeout=300)
    guest.wait(60)
    result["lines"] = guest.lines
    result["backend_exit"] = backend.proc.wait(30)
    result["backend_log"] = backend.text()
    return result


# -- the driver checker's reports ------------------------------------------

#: where the end-to-end runs keep the reports of ``vgpio-vhost-user
#: --check-driver``, as <kernel>-<driver>.json: the runs' results, which
#: Documentation/conformance-kit.rst ("Drivers checked") shows
DRIVER_REPORTS = os.path.join(ROOT, "build", "driver-reports")
CONFORMANCE_KIT = os.path.join(ROOT, "Documentation", "conformance-kit.rst")
#: the name of that page's table of the reports
DRIVERS_TABLE = "drivers-checked"
#: how the table's columns name a driver
DRIVER_TITLES = {"ours": "ours", "upstream": "Linux's"}


def check_driver_args(work, run):
    """The backend's arguments that put the driver checker in front of
    its device, with the report at ``work``/driver-``run``.json."""
    return ("--check-driver", os.path.join(str(work), "driver-%s.json" % run))


def keep_driver_report(args, kernel, driver):
    """The report the backend started with ``args`` (from
    :func:`check_driver_args`) wrote when its front end left, copied to
    :data:`DRIVER_REPORTS` as ``kernel``-``driver``.json; returns its rows
    by id, or None if there is none (the front end never left)."""
    path = args[1]
    if not os.path.exists(path):
        return None
    os.makedirs(DRIVER_REPORTS, exist_ok=True)
    shutil.copy(path, os.path.join(DRIVER_REPORTS,
                                   "%s-%s.json" % (kernel, driver)))
    with open(path) as f:
        return {row["id"]: row for row in json.load(f)["requirements"]}


def doc_table(path, name):
    """The list-table called ``name`` in the page ``path``: its header
    and its rows, each a list of the cells' text."""
    import docutils.core
    from docutils import nodes
    with open(path, encoding="utf-8") as f:
        doctree = docutils.core.publish_doctree(f.read(), settings_overrides={
            "report_level": 5, "halt_level": 5})
    for table in doctree.findall(nodes.table):
        if name in table["names"]:
            rows = [[" ".join(cell.astext().split()) for cell in row.children]
                    for row in table.findall(nodes.row)]
            return rows[0], rows[1:]
    raise AssertionError("no table %r in %s" % (name, path))


def driver_column(driver, platform, series):
    """The heading of a run's column in the "Drivers checked" table."""
    return "%s (%s %s)" % (DRIVER_TITLES[driver], platform, series)


def driver_report_problems(rows, driver, column):
    """How a run's fresh report (``rows`` by id) differs from what the
    docs say of it: our module must break no requirement (each one it
    breaks is named, with its evidence); Linux's driver must break those
    the docs record, no more and no fewer. Empty when they agree."""
    if rows is None:
        return ["the backend wrote no driver report"]
    problems = []
    if driver == "ours":
        problems += ["our module breaks %s (%s): %s" % (
            key, row["statement"], row["evidence"])
            for key, row in rows.items() if row["verdict"] == "fail"]
    try:
        header, table = doc_table(CONFORMANCE_KIT, DRIVERS_TABLE)
    except AssertionError as exc:
        return problems + [str(exc)]
    if column not in header:
        return problems + ["no column %r in the docs' table" % column]
    documented = {row[0]: row[header.index(column)] for row in table}
    if sorted(documented) != sorted(rows):
        problems.append("the docs list %s, the report %s"
                        % (sorted(documented), sorted(rows)))
    problems += ["%s: %s in the docs, %s in this run%s" % (
        key, documented[key], row["verdict"],
        " (%s)" % row["evidence"] if row["verdict"] == "fail" else "")
        for key, row in rows.items()
        if key in documented and documented[key] != row["verdict"]]
    return problems
