#!/bin/sh
# PID 1 of the UML guest for the standard protocol (device ID 41), run
# once with our module and once with Linux's gpio-virtio (driver.ko,
# module @MOD@) against our backend. The same checks as e2e-init.sh where
# the protocol allows. "SYNC name" waits until the test creates
# $D/go.name on the host.
D="@DIR@"
. "@GUEST@/guest-lib.sh"

finish() {
	report_and_power_off STD
}

insmod "$D/driver.ko" @PARAMS@ || { echo "STD-FAIL insmod"; finish; }
echo "GPIODETECT $(gpiodetect)"
echo "GPIOINFO-BEGIN"; gpioinfo gpiochip0; echo "GPIOINFO-END"
"$D/gpio-probe" /dev/gpiochip0 info - -
"$D/gpio-probe" /dev/gpiochip0 rw 1 50

# libgpiod's tools, checked in the backend's model at the sync point.
gpioset gpiochip0 3=1; echo "GPIOSET rc=$?"
sync_point set
echo "GPIOGET $(gpioget gpiochip0 0)"

# Edges through the eventq: the test toggles line 2 after EDGES-READY.
"$D/gpio-probe" /dev/gpiochip0 edges 2 6

# Parallel requests from several processes on several lines.
for l in 0 1 3; do "$D/gpio-probe" /dev/gpiochip0 rw $l 100 & done
wait

# Faults injected by the test once the line is held, so that they hit
# the one GET_VALUE (requesting a line sends other requests first); each
# on its own line, and afterwards every one of those lines must work.
for spec in @FAULTS@; do
	fault=${spec%:*}
	line=${spec#*:}
	"$D/gpio-probe" /dev/gpiochip0 getafter "$line" "$D/go.fault-$fault" \
		2>"$D/fault.out"
	echo "FAULT $fault rc=$? $(cat "$D/fault.out")"
done
echo "AFTER-FAULTS $(gpioget gpiochip0 0 1 3 2>&1)"

# The device returns an eventq buffer the driver never made available:
# the virtio core refuses it and marks the eventq broken. Values still
# work, a watch waits no longer than its bound, and unload stays clean.
sync_point forged
echo "FORGED $(gpioget gpiochip0 0 1 3 2>&1)"
timeout 5 "$D/gpio-probe" /dev/gpiochip0 edges 2 1 >/dev/null 2>&1
echo "FORGED-EDGES rc=$?"

# A device that stops answering (@STALL@: our module only; Linux's
# gpio-virtio waits for ever, uninterruptibly). The test stalls the
# backend at "SYNC stall" and resumes it at "SYNC resume". A killed wait
# ends at once; then one timeout, after which calls fail at once until
# the device answers again, and then the lines work without a rebind.
# Times in centiseconds of /proc/uptime.
centis() {
	read -r up _ < /proc/uptime
	echo "${up%.*}${up#*.}"
}
if [ -n "@STALL@" ]; then
	sync_point stall
	echo 10000 > /sys/module/@MOD@/parameters/timeout_ms
	t0=$(centis)
	gpioget gpiochip0 1 >/dev/null 2>&1 &
	pid=$!
	sleep 1
	kill -9 $pid
	wait $pid
	echo "STALL-KILLED rc=$? cs=$(( $(centis) - t0 ))"
	echo 2000 > /sys/module/@MOD@/parameters/timeout_ms
	for i in 1 2 3 4 5 6; do
		t0=$(centis)
		out=$(gpioget gpiochip0 1 2>&1)
		rc=$?
		echo "STALL-GET $i rc=$rc cs=$(( $(centis) - t0 )) $out"
	done
	sync_point resume
	sleep 1
	echo "STALL-AFTER $(gpioget gpiochip0 0 1 3 2>&1)"
	"$D/gpio-probe" /dev/gpiochip0 rw 1 20
fi

# Unload with the device attached, then 10 load/unload cycles.
rmmod @MOD@; echo "RMMOD rc=$?"
i=0
while [ $i -lt 10 ]; do
	insmod "$D/driver.ko" @PARAMS@ || break
	[ "$(gpiodetect | grep -c '4 lines')" = 1 ] || break
	rmmod @MOD@ || break
	i=$((i + 1))
done
echo "CYCLES $i"
finish
