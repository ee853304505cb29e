#!/bin/sh
# What every QEMU guest's /init starts with (e2e_helpers.qemu_initramfs),
# on an initramfs holding busybox and a static gpio-probe. The first echo
# ends the line the firmware's escape codes left open.
echo
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
