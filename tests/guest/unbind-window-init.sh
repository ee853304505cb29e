#!/bin/sh
# PID 1 of the unbind-window guest (tests/e2e/test_e2e_uml_unbind_window.py):
# an in-kernel consumer (unbind-window-consumer.ko) passes gpiolib's chip
# check for line 1 and waits in the gap before its call while the device
# is unbound; the call must find no device (-ENODEV), not freed memory.
# Then the consumer lets go, the device is bound again and works.
D="@DIR@"
. "@GUEST@/guest-lib.sh"

finish() {
	report_and_power_off UW
}

# Waits up to $2 tenths of a second for a kernel log line holding $1.
await_log() {
	n=0
	until dmesg | grep -q "$1"; do
		n=$((n + 1))
		[ "$n" -le "$2" ] || return 1
		sleep 0.1
	done
}

insmod "$D/vgpio.ko" timeout_ms=500 || { echo "UW-FAIL insmod"; finish; }
CHIP=$(gpiodetect | sed -n 's/^\(gpiochip[0-9]*\) .*(4 lines)$/\1/p')
BASE=$(sed -n "s/^$CHIP: GPIOs \([0-9]*\)-.*/\1/p" /sys/kernel/debug/gpio)
DEV=$(basename "$(dirname "$(readlink -f /sys/bus/gpio/devices/$CHIP)")")
echo "UW-CHIP $CHIP base $BASE device $DEV"
[ -n "$BASE" ] && [ -n "$DEV" ] || finish

insmod "$D/unbind-window-consumer.ko" gpio=$((BASE + 1)) gap_ms=3000
echo "UW-CONSUMER rc=$?"
await_log WINDOW-OPEN 100 || { echo "UW-FAIL no window"; finish; }
echo "$DEV" > /sys/bus/virtio/drivers/vgpio/unbind
echo "UW-UNBIND rc=$?"
await_log WINDOW-GET 100
echo "UW-$(dmesg | grep -o 'WINDOW-[A-Z]* .*' | tail -n 1)"
rmmod unbind_window_consumer
echo "UW-CONSUMER-GONE rc=$?"

echo "$DEV" > /sys/bus/virtio/drivers/vgpio/bind
echo "UW-BIND rc=$?"
CHIP=$(gpiodetect | sed -n 's/^\(gpiochip[0-9]*\) .*(4 lines)$/\1/p')
echo "UW-GET $(gpioget "$CHIP" 1 2>&1)"
finish
