"""vgpio-guest before anything starts: every bad argument is one line on
stderr and exit status 2, with nothing left behind; the kernel a name or
a path stands for; how a command's output is relayed."""

import io
import os
import struct
import subprocess
import sys

import pytest

from virtio_gpio.guests import debian_images, guest_cli, guest_initramfs

from fake_sockets import bound_socket


def run_cli(tmp_path, *args):
    # TMPDIR in tmp_path: a temporary directory made by mistake would show
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"))
    os.makedirs(env["TMPDIR"], exist_ok=True)
    return subprocess.run([sys.executable, "-m",
                           "virtio_gpio.guests.guest_cli"] + list(args),
                          capture_output=True, text=True, timeout=60,
                          env=env, stdin=subprocess.DEVNULL)


@pytest.fixture
def backend_socket(tmp_path):
    with bound_socket(str(tmp_path / "b.sock")) as path:
        yield path


@pytest.mark.parametrize("args, message", [
    ((), "no backend socket given (-s SOCKET)"),
    (("-s", "/etc/hostname"), "/etc/hostname is not a socket"),
    (("-s", "/no/such/dir/b.sock"),
     "/no/such/dir/b.sock cannot appear: no directory /no/such/dir"),
    (("-s", "@SOCK", "--kernel", "5.10"),
     "unknown kernel '5.10': give a series (6.1, 6.12) or the path of a "
     "kernel image"),
    (("-s", "@SOCK", "--kernel", "/etc/hostname"),
     "/etc/hostname is not an x86 kernel image (bzImage)"),
    (("-s", "@SOCK", "--kernel", "/boot/no-such-vmlinuz"),
     "no kernel image at /boot/no-such-vmlinuz"),
    (("-s", "@SOCK", "-s", "@SOCK"),
     "@SOCK given twice (a backend serves one front end)"),
    (("-s", "@SOCK", "--timeout", "0"),
     "--timeout must be more than 0 seconds"),
], ids=["no-socket", "not-a-socket", "no-directory", "unknown-series",
        "not-an-image", "no-image", "twice", "no-time"])
def test_bad_input_is_one_line_and_status_2(tmp_path, backend_socket, args,
                                            message):
    args = [a.replace("@SOCK", backend_socket) for a in args]
    proc = run_cli(tmp_path, *args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "vgpio-guest: " + message.replace("@SOCK", backend_socket)]
    assert os.listdir(str(tmp_path / "tmp")) == []


def test_help_names_every_option(tmp_path):
    proc = run_cli(tmp_path, "--help")
    assert proc.returncode == 0
    for option in ("--socket", "--kernel", "--run", "--timeout",
                   "--module-src"):
        assert option in proc.stdout


def fake_bzimage(path, version):
    head = bytearray(0x1000)
    head[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", head, 0x20E, 0x600 - 0x200)
    text = version.encode() + b"\0"
    head[0x600:0x600 + len(text)] = text
    with open(path, "wb") as f:
        f.write(head)
    return path


def test_the_release_comes_from_the_image_header(tmp_path):
    image = fake_bzimage(str(tmp_path / "renamed"), "6.12.9-amd64 (debian) #1")
    assert debian_images.image_release(image) == "6.12.9-amd64"


def test_an_image_without_headers_is_refused(tmp_path):
    image = fake_bzimage(str(tmp_path / "k"), "0.0.1-none (x) #1")
    with pytest.raises(debian_images.UnknownKernel) as caught:
        debian_images.resolve(image)
    assert "no headers of 0.0.1-none installed" in str(caught.value)


def test_the_default_is_the_newest_series_installed():
    newest = debian_images.resolve(None)
    assert newest.release.startswith(debian_images.IMAGE_SERIES[-1] + ".")
    assert debian_images.resolve(debian_images.IMAGE_SERIES[-1]) == newest


class ScriptedConsole:
    def __init__(self, lines):
        self.lines = list(lines)

    def read_line(self, timeout):
        return self.lines.pop(0) if self.lines else None


@pytest.mark.parametrize("console, printed", [
    # /init's echo after the command: an empty line, dropped
    (["a", "b", "", guest_initramfs.EXIT + "0"], "a\nb\n"),
    # ... or the end of an unfinished last line, kept
    (["a", "b-no-newline", guest_initramfs.EXIT + "4"], "a\nb-no-newline\n"),
    # an empty line the command printed itself stays
    (["a", "", "", guest_initramfs.EXIT + "0"], "a\n\n"),
    ([guest_initramfs.EXIT + "0"], ""),
], ids=["newline", "unfinished", "own-empty-line", "silent"])
def test_relay_prints_the_output_as_the_command_printed_it(capsys, console,
                                                          printed):
    status = guest_cli.relay(ScriptedConsole(console), sys.stdout)
    assert status == int(console[-1].split()[-1])
    assert capsys.readouterr().out == printed


def test_relay_prints_each_line_before_it_reads_the_next():
    # A host that waits for a line before it acts must get it at once.
    out = io.StringIO()

    class Watched(ScriptedConsole):
        seen = []

        def read_line(self, timeout):
            self.seen.append(out.getvalue())
            return super().read_line(timeout)

    console = Watched(["ready", "", "more", "", guest_initramfs.EXIT + "0"])
    guest_cli.relay(console, out)
    assert console.seen == ["", "ready\n", "ready\n", "ready\n\nmore\n",
                            "ready\n\nmore\n"]
    assert out.getvalue() == "ready\n\nmore\n"


def test_relay_fails_when_qemu_ends_first():
    with pytest.raises(guest_cli.GuestFailed):
        guest_cli.relay(ScriptedConsole(["a"]), sys.stdout)


def test_the_initramfs_carries_libgpiod_and_its_libraries():
    files = guest_initramfs.libgpiod_files()
    assert "/usr/bin/gpiodetect" in files and "/usr/bin/gpiomon" in files
    assert any(os.path.basename(p).startswith("libgpiod.so") for p in files)
    assert any(os.path.basename(p).startswith("ld-linux") for p in files)
    assert all(os.path.isfile(p) for p in files.values())
