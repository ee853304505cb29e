"""Boot a Debian kernel under QEMU with a throwaway busybox initramfs.

Used by the kernel load test and the QEMU end-to-end runs: the initramfs
holds busybox-static, the modules to load and an ``/init`` script; the
serial console is the only output. TCG is the default because KVM guests
hang on some hosts; set ``VGPIO_QEMU_KVM=1`` to opt in to KVM.
"""

import gzip
import hashlib
import lzma
import os
import re
import shutil
import subprocess
import tempfile

from ..cache import cache_root
from . import kernels, qemu_user_creatable
from .console import ConsoleGuest

SYSTEM_QEMU = "qemu-system-x86_64"

BUSYBOX = "/bin/busybox"
APPLETS = ("sh", "mount", "insmod", "rmmod", "lsmod", "dmesg", "poweroff",
           "echo", "cat", "ls", "sleep", "grep", "test", "[", "timeout",
           "readlink", "basename", "cut", "wc", "head")

# What a kernel prints when something went wrong in it. Case matters:
# "report a bug" in an ACPI notice is not a "BUG:" line.
KERNEL_LOG_PROBLEMS = re.compile(
    r"\bBUG\b|WARNING|Oops|Call Trace|general protection|Kernel panic|"
    r"refcount_t|list_del corruption|list_add corruption|lockdep|"
    r"possible circular locking|inconsistent lock state|"
    r"scheduling while atomic|sleeping function called|hung_task|"
    r"blocked for more than|UBSAN|KASAN|kmemleak|double free|"
    r"use-after-free|Unknown symbol|disagrees about version|"
    r"unknown parameter|segfault")


def kernel_log_problems(lines):
    """The lines of a kernel log that report a bug, warning or oops."""
    return [line for line in lines if KERNEL_LOG_PROBLEMS.search(line)]


def kernel_image(release):
    """``/boot/vmlinuz-RELEASE``; fails if that kernel image is missing."""
    path = "/boot/vmlinuz-%s" % release
    if not os.path.isfile(path):
        raise FileNotFoundError("%s missing: install the linux-image package "
                                "of %s" % (path, release))
    return path


#: kept here for the callers that import it from this module
version_key = kernels.version_key


def module_path(name, release):
    """Host path of an in-tree module of ``release``, via modinfo."""
    out = subprocess.run(["modinfo", "-k", release, "-n", name], check=True,
                         capture_output=True, text=True).stdout.strip()
    return out


def load_order(names, release):
    """In-tree modules ``names`` plus their dependencies, dependencies first.

    Returns ``[(name, host_path), ...]``, ready for a sequence of insmods;
    modules built into ``release`` (6.12 has virtio_pci built in) are left
    out, as there is nothing to load.
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
        path = module_path(name, release)
        if path != "(builtin)":
            order.append((name, path))

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
            if host.endswith(".xz"):
                # Debian 6.12 ships its modules xz-compressed; busybox
                # insmod passes the file to init_module() as it is.
                with lzma.open(host) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            else:
                shutil.copy2(host, target)
        listing = subprocess.run(["find", "."], cwd=root, check=True,
                                 capture_output=True).stdout
        archive = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"],
                                 cwd=root, input=listing, check=True,
                                 capture_output=True).stdout
    with gzip.open(dest, "wb", compresslevel=1) as f:
        f.write(archive)
    return dest


def command(kernel, initrd, append="", extra_args=(), memory="512M",
            binary=SYSTEM_QEMU):
    """The qemu-system-x86_64 command line for a serial-console boot."""
    accel = "kvm" if os.environ.get("VGPIO_QEMU_KVM") == "1" else "tcg"
    # No network card: its option ROM (iPXE) only slows the boot down.
    cmd = [binary, "-accel", accel, "-m", memory, "-smp", "1",
           "-nographic", "-no-reboot", "-nic", "none",
           "-kernel", kernel, "-initrd", initrd,
           "-append", "console=ttyS0 panic=-1 loglevel=4 " + append]
    return cmd + list(extra_args)


def vhost_user_gpio_args(*socket_paths, memory="512M"):
    """Attach a vhost-user-gpio-pci device (virtio ID 41) per socket in
    ``socket_paths``, in that order: the first is the guest's virtio0 when
    no other virtio device comes before it on the PCI bus.

    vhost-user needs the guest RAM in shared memory the backends can map:
    one memory backend serves every device.
    """
    if not socket_paths:
        raise ValueError("no vhost-user socket: a device needs one")
    if len(set(socket_paths)) != len(socket_paths):
        raise ValueError("a socket given twice: a vhost-user backend "
                         "serves one front end per socket")
    args = ["-object", "memory-backend-memfd,id=mem,size=%s,share=on"
            % memory, "-numa", "node,memdev=mem"]
    for n, path in enumerate(socket_paths):
        # QEMU's option syntax reads a lone comma as the next option.
        args += ["-chardev", "socket,id=gpio%d,path=%s"
                 % (n, path.replace(",", ",,")),
                 "-device", "vhost-user-gpio-pci,chardev=gpio%d,id=gpio%d"
                 % (n, n)]
    return args


#: QEMU 10 asserts (and aborts) at the guest's first config read when a
#: vhost-user device's config space is larger than this
VHOST_USER_MAX_CONFIG_SIZE = 256


def vhost_user_device_args(socket_path, virtio_id, num_vqs, config_size,
                           vq_size=64, memory="512M"):
    """Attach QEMU's generic vhost-user-device-pci on ``socket_path``.

    The device is whatever the backend serves: QEMU only needs the virtio
    device ID, the number of queues, their size and the config-space size
    (read from the backend with VHOST_USER_GET_CONFIG whenever the guest
    reads config space; bytes beyond ``config_size`` read as 0xff in the
    guest). See :func:`generic_vhost_user_qemu` for a QEMU that lets
    ``-device`` create it.
    """
    if not 0 <= config_size <= VHOST_USER_MAX_CONFIG_SIZE:
        raise ValueError("QEMU serves a vhost-user config space of 0..%d "
                         "bytes, not %d"
                         % (VHOST_USER_MAX_CONFIG_SIZE, config_size))
    return ["-object", "memory-backend-memfd,id=mem,size=%s,share=on" % memory,
            "-numa", "node,memdev=mem",
            "-chardev", "socket,id=vud0,path=%s" % socket_path,
            "-device", "vhost-user-device-pci,chardev=vud0,id=vud0,"
            "virtio-id=%d,num_vqs=%d,config_size=%d,vq_size=%d"
            % (virtio_id, num_vqs, config_size, vq_size)]


def _lists_device(binary, name):
    out = subprocess.run([binary, "-device", "help"], check=True,
                         capture_output=True, text=True).stdout
    return ('name "%s"' % name) in out


def generic_vhost_user_qemu(system=SYSTEM_QEMU):
    """A qemu-system-x86_64 whose ``-device`` accepts vhost-user-device-pci.

    The system binary when it already does (QEMU after 10.0); otherwise a
    copy with the one store that hides the device changed, see
    :mod:`virtio_gpio.guests.qemu_user_creatable`, cached under the build cache
    by the checksum of the system binary. Fails for a binary of another
    shape, naming what to do.
    """
    if _lists_device(system, "vhost-user-device-pci"):
        return system
    path = shutil.which(system)
    if path is None:
        raise FileNotFoundError("%s not found" % system)
    with open(path, "rb") as f:
        image = f.read()
    digest = hashlib.sha256(image).hexdigest()
    target = os.path.join(cache_root(), "qemu-%s" % digest[:16],
                          os.path.basename(path))
    if not os.path.exists(target):
        try:
            patched, _ = qemu_user_creatable.make_user_creatable(image)
        except qemu_user_creatable.NotPatchable as e:
            raise RuntimeError(
                "%s does not let -device create vhost-user-device-pci and "
                "cannot be patched to (%s): use a QEMU where the device is "
                "user-creatable (upstream after 10.0)" % (path, e)) from e
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = "%s.%d.tmp" % (target, os.getpid())
        with open(tmp, "wb") as f:
            f.write(patched)
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    if not _lists_device(target, "vhost-user-device-pci"):
        raise RuntimeError("%s: the patch did not make vhost-user-device-pci "
                           "creatable" % target)
    return target


class Guest(ConsoleGuest):
    """A QEMU guest whose serial console is read line by line."""

    def __init__(self, kernel, initrd, extra_args=(), memory="512M",
                 log_path=None, append="", binary=SYSTEM_QEMU,
                 console_input=False):
        super().__init__(command(kernel, initrd, append=append,
                                 extra_args=extra_args, memory=memory,
                                 binary=binary),
                         log_path, console_input)

