#!/bin/sh
# PID 1 of the second UML boot: the same backend must serve it again.
D="@DIR@"
. "@GUEST@/guest-lib.sh"
insmod "$D/vgpio.ko" timeout_ms=500 bind_id30=1
CHIP=$(gpiodetect | sed -n 's/^\(gpiochip[0-9]*\) \[vgpio-e2e\].*/\1/p')
echo "RECONNECT $(gpioget "$CHIP" 1 2>&1)"
rmmod vgpio
/bin/busybox poweroff -f
