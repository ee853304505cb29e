"""The initramfs of ``vgpio-guest``: busybox, libgpiod's tools with the
shared libraries they load, virtio_pci's modules, vgpio.ko, and an /init
that loads them, waits for the chips and then runs a command or a shell.

The /init tells the host where it is by marker lines on the console
(:data:`LOADED`, :data:`CHIPS_UP`, :data:`EXIT`, :data:`FAILED`): the
devices are hot-plugged only once the module is loaded, and the command
runs once every chip is up.
"""

import os
import subprocess

from . import qemu

#: libgpiod's programs (gpiofind is 1.x's, gpionotify 2.x's)
TOOLS = ("gpiodetect", "gpioinfo", "gpioget", "gpioset", "gpiomon",
         "gpiofind", "gpionotify")
TOOL_DIR = "/usr/bin"

LOADED = "VGPIO-GUEST-LOADED"
CHIPS_UP = "VGPIO-GUEST-CHIPS-UP"
#: followed by the command's exit status
EXIT = "VGPIO-GUEST-EXIT "
#: followed by what failed
FAILED = "VGPIO-GUEST-FAILED "

#: /init; @INSMODS@, @CHIPS@ are filled in by :func:`init_script`
INIT = r"""#!/bin/sh
# /init of vgpio-guest (virtio_gpio.guests.guest_initramfs). The first
# echo ends the line the firmware's escape codes left open.
echo
# Every applet, for the shell and the commands run in it.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
export PATH=/bin:/usr/bin HOME=/
cd /
@INSMODS@
if ! insmod /lib/vgpio.ko; then
	echo "VGPIO-GUEST-FAILED insmod vgpio.ko"
	poweroff -f
fi
echo "VGPIO-GUEST-LOADED"

# Chips of vgpio whose character device exists.
chips_up() {
	n=0
	for c in /sys/bus/virtio/drivers/vgpio/virtio*/gpiochip*; do
		[ -e "/dev/${c##*/}" ] && n=$((n + 1))
	done
	echo $n
}
while [ "$(chips_up)" -lt @CHIPS@ ]; do sleep 0.1; done
echo "VGPIO-GUEST-CHIPS-UP"

if [ -e /run.sh ]; then
	sh /run.sh </dev/null 2>&1
	rc=$?
	# Ends an unfinished last line; the host drops it when empty.
	echo
	echo "VGPIO-GUEST-EXIT $rc"
else
	# A controlling terminal, so that Ctrl-C reaches what the shell runs.
	setsid cttyhack sh -l
fi
poweroff -f
"""


def shared_libraries(programs):
    """The shared objects ``programs`` load (the dynamic loader too), as
    ``ldd`` finds them."""
    found = []
    for program in programs:
        out = subprocess.run(["ldd", program], check=True,
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            words = line.split("=>")[-1].split()
            if words and words[0].startswith("/") and words[0] not in found:
                found.append(words[0])
    return found


def libgpiod_files():
    """Guest path -> host path of libgpiod's tools and their libraries."""
    tools = [os.path.join(TOOL_DIR, name) for name in TOOLS
             if os.path.isfile(os.path.join(TOOL_DIR, name))]
    if not tools:
        raise FileNotFoundError("libgpiod's tools are not in %s: install "
                                "the gpiod package" % TOOL_DIR)
    return {path: path for path in tools + shared_libraries(tools)}


def init_script(modules, chips):
    """The /init text: insmod of ``modules`` (names, in order), then
    vgpio.ko, then a wait for ``chips`` chips."""
    insmods = "".join("insmod /lib/%s.ko\n" % name for name in modules)
    return INIT.replace("@INSMODS@", insmods.rstrip("\n")) \
        .replace("@CHIPS@", str(int(chips)))


def build(dest, release, module, chips, command=None):
    """Write the initramfs to ``dest`` for Debian's kernel ``release``.

    :param module: the host path of vgpio.ko built for ``release``
    :param chips: how many chips /init waits for
    :param command: shell text run once they are up (None: a shell)
    """
    deps = qemu.load_order(["virtio_pci"], release)
    files = {"/lib/%s.ko" % name: path for name, path in deps}
    files["/lib/vgpio.ko"] = module
    files.update(libgpiod_files())
    if command is not None:
        script = os.path.join(os.path.dirname(os.path.abspath(dest)),
                              "run.sh")
        with open(script, "w") as f:
            f.write(command + "\n")
        files["/run.sh"] = script
    return qemu.build_initramfs(dest, init_script([n for n, _ in deps],
                                                  chips), files)
