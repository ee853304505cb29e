#!/bin/sh
# PID 1 of the second UML boot: the same backend must serve it again.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
D=@DIR@
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
insmod "$D/vgpio.ko" timeout_ms=500 bind_id30=1
CHIP=$(gpiodetect | sed -n 's/^\(gpiochip[0-9]*\) \[vgpio-e2e\].*/\1/p')
echo "RECONNECT $(gpioget "$CHIP" 1 2>&1)"
rmmod vgpio
/bin/busybox poweroff -f
