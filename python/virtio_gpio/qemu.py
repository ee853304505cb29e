"""Boot a Debian kernel under QEMU with a throwaway busybox initramfs.

Used by the kernel load test (and the QEMU end-to-end runs): the initramfs
holds busybox-static, the modules to load and an ``/init`` script; the
serial console is the only output. TCG is the default because KVM guests
hang on some hosts; set ``VGPIO_QEMU_KVM=1`` to opt in to KVM.
"""

import gzip
import os
import shutil
import subprocess
import tempfile

from .console import ConsoleGuest

BUSYBOX = "/bin/busybox"
APPLETS = ("sh", "mount", "insmod", "rmmod", "lsmod", "dmesg", "poweroff",
           "echo", "cat", "ls", "sleep", "grep", "test", "[")


def version_key(release):
    parts = []
    for chunk in release.replace("-", ".").split("."):
        parts.append((0, int(chunk), "") if chunk.isdigit() else (1, 0, chunk))
    return parts


def module_path(name, release):
    """Host path of an in-tree module of ``release``, via modinfo."""
    out = subprocess.run(["modinfo", "-k", release, "-n", name], check=True,
                         capture_output=True, text=True).stdout.strip()
    return out


def load_order(names, release):
    """In-tree modules ``names`` plus their dependencies, dependencies first.

    Returns ``[(name, host_path), ...]``, ready for a sequence of insmods.
    """
    order, seen = [], set()

    def visit(name):
        if name in seen:
            return
        seen.add(name)
        deps = subprocess.run(["modinfo", "-k", release, "-F", "depends", name],
                              check=True, capture_output=True,
                              text=True).stdout.strip()
        for dep in filter(None, deps.split(",")):
            visit(dep)
        order.append((name, module_path(name, release)))

    for name in names:
        visit(name)
    return order


def build_initramfs(dest, init_script, files):
    """Write a gzip'ed newc cpio to ``dest``.

    :param init_script: text of ``/init`` (run by busybox sh)
    :param files: mapping of guest path -> host path to copy in
    """
    with tempfile.TemporaryDirectory() as root:
        for sub in ("bin", "proc", "sys", "dev", "tmp", "lib"):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        shutil.copy2(BUSYBOX, os.path.join(root, "bin", "busybox"))
        for applet in APPLETS:
            os.symlink("busybox", os.path.join(root, "bin", applet))
        init = os.path.join(root, "init")
        with open(init, "w") as f:
            f.write(init_script)
        os.chmod(init, 0o755)
        for guest, host in files.items():
            target = os.path.join(root, guest.lstrip("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(host, target)
        listing = subprocess.run(["find", "."], cwd=root, check=True,
                                 capture_output=True).stdout
        archive = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"],
                                 cwd=root, input=listing, check=True,
                                 capture_output=True).stdout
    with gzip.open(dest, "wb", compresslevel=1) as f:
        f.write(archive)
    return dest


def command(kernel, initrd, append="", extra_args=(), memory="512M"):
    """The qemu-system-x86_64 command line for a serial-console boot."""
    accel = "kvm" if os.environ.get("VGPIO_QEMU_KVM") == "1" else "tcg"
    cmd = ["qemu-system-x86_64", "-accel", accel, "-m", memory, "-smp", "1",
           "-nographic", "-no-reboot", "-kernel", kernel, "-initrd", initrd,
           "-append", "console=ttyS0 panic=-1 loglevel=4 " + append]
    return cmd + list(extra_args)


def vhost_user_gpio_args(socket_path, memory="512M"):
    """Attach a vhost-user-gpio-pci device (virtio ID 41) on ``socket_path``.

    vhost-user needs the guest RAM in shared memory the backend can map.
    """
    return ["-object", "memory-backend-memfd,id=mem,size=%s,share=on" % memory,
            "-numa", "node,memdev=mem",
            "-chardev", "socket,id=gpio0,path=%s" % socket_path,
            "-device", "vhost-user-gpio-pci,chardev=gpio0,id=gpio0"]


class Guest(ConsoleGuest):
    """A QEMU guest whose serial console is read line by line."""

    def __init__(self, kernel, initrd, extra_args=(), memory="512M",
                 log_path=None):
        super().__init__(command(kernel, initrd, extra_args=extra_args,
                                 memory=memory), log_path)


def run(kernel, initrd, append="", timeout=300, extra_args=(), memory="512M"):
    """Boot and return the serial console output (the guest powers off)."""
    cmd = command(kernel, initrd, append, extra_args, memory)
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout)
    return proc.stdout.decode(errors="replace") + proc.stderr.decode(
        errors="replace")
