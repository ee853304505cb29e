#!/bin/sh
# PID 1 of the UML guest for the standard protocol (device ID 41), driven
# by our module or Linux's own gpio-virtio (driver.ko) against our backend.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
D=@DIR@
mount -t proc proc /proc
mount -t sysfs sysfs /sys
insmod "$D/driver.ko" || echo "STD-FAIL insmod"
"$D/gpio-probe" /dev/gpiochip0 info - -
"$D/gpio-probe" /dev/gpiochip0 rw 1 50
"$D/gpio-probe" /dev/gpiochip0 edges 2 6
echo "STD-DMESG-BEGIN"
dmesg --color=never
echo "STD-DMESG-END"
/bin/busybox poweroff -f
