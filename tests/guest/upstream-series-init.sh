#!/bin/sh
# PID 1 of the UML guest that runs Linux's gpio-virtio (driver.ko, built
# without or with the upstream series) through the cases the series
# fixes, in one boot, against our backend (standard protocol, 4 lines).
# "SYNC name" waits until the test creates $D/go.name on the host. The
# order matters: lockdep reports only its first finding, so the raw-lock
# case comes first, and the device stays silent from its case on.
D="@DIR@"
. "@GUEST@/guest-lib.sh"
CHIP=/dev/gpiochip0

finish() {
	report_and_power_off UPS
}

# The state (R, S, D, Z...) of process $1 from /proc: Z once it is gone
# but not yet reaped, D while it sleeps uninterruptibly.
state() {
	cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null || echo gone
}

insmod "$D/driver.ko" || { echo "UPS-FAIL insmod"; finish; }

# 1. Raw-lock path: edges on a line watched through the character
# device, each one re-arming the line's eventq buffer (the test toggles
# line 2 after EDGES-READY).
"$D/gpio-probe" $CHIP edges 2 4
echo "LOCKDEP-EDGES rc=$?"

# 2. Device-controlled status: the next eventq buffer comes back with
# status 0x7f; the edge after it must still arrive.
sync_point corrupt-irq
timeout 20 "$D/gpio-probe" $CHIP edges 2 1
echo "CORRUPT-IRQ rc=$?"

# 3. Length before status: a reply with a bad status and a used length
# of 0, on the one GET_VALUE of line 0.
"$D/gpio-probe" $CHIP getafter 0 "$D/go.status-len" 2>"$D/len.out"
echo "STATUS-LEN rc=$? $(cat "$D/len.out")"

# 4. Silent device: a caller waiting for a reply is killed.
sync_point silent
"$D/gpio-probe" $CHIP get 1 1 >/dev/null 2>&1 &
killed=$!
sleep 2
echo "SILENT-CALLER $(state $killed)"
kill -9 $killed
sleep 2
echo "KILLED-CALLER $(state $killed)"

# 5. Unbind under load: callers in flight on every line, the device
# still silent, then the driver is unbound.
readers=""
for l in 0 1 2 3; do
	"$D/gpio-probe" $CHIP get $l 1 >/dev/null 2>&1 &
	readers="$readers $!"
done
sleep 2
dev=$(ls /sys/bus/virtio/drivers/gpio_virtio | grep '^virtio')
echo "UNBINDING $dev"
echo "$dev" > /sys/bus/virtio/drivers/gpio_virtio/unbind &
unbind=$!
sleep 5
echo "UNBIND $(state $unbind)"
echo "READERS$(for p in $readers; do printf ' %s' "$(state $p)"; done)"
finish
