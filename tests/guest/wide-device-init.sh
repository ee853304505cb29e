#!/bin/sh
# PID 1 of the widest-device guest (tests/e2e/test_e2e_uml_wide_device.py):
# a standard device of 65535 lines, the most ngpio can say. Probe time and
# the memory the driver takes, both ends of the chip read and driven, and
# every line the eventq can serve watched at once (@FIT@: one ring entry
# per waiting line with indirect descriptors, two without); a line past
# them, and the last line, are refused when requested, not left never to
# fire.
D="@DIR@"
. "@GUEST@/guest-lib.sh"
FIT=@FIT@
LAST=65534

finish() {
	report_and_power_off W
}

free_kb() {
	sed -n 's/^MemFree: *\([0-9]*\) kB$/\1/p' /proc/meminfo
}

before=$(free_kb)
start=$(date +%s%N)
insmod "$D/vgpio.ko" timeout_ms=500 || { echo "W-FAIL insmod"; finish; }
CHIP=$(gpiodetect | sed -n 's/^\(gpiochip[0-9]*\) .*(65535 lines)$/\1/p')
end=$(date +%s%N)
echo "W-CHIP $CHIP"
[ -n "$CHIP" ] || finish
echo "W-PROBE-MS $(( (end - start) / 1000000 ))"
echo "W-MEM-KB $((before - $(free_kb)))"

# Both ends, both ways: the guest drives lines 0 and $LAST, the host
# drives lines 1 and $((LAST - 1)).
gpioset "$CHIP" 0=1 "$LAST"=1; echo "W-SET rc=$?"
sync_point set
echo "W-GET $(gpioget "$CHIP" 1 $((LAST - 1)) 2>&1)"

# One request holds at most 64 lines: FIT/64 programs watch lines
# 0..FIT-1, each until its first event.
first=0
while [ "$first" -lt "$FIT" ]; do
	gpiomon --num-events=1 "$CHIP" $(seq "$first" $((first + 63))) \
		>"$D/mon.$first" 2>&1 &
	first=$((first + 64))
done
until [ "$(gpioinfo "$CHIP" | grep -c '"gpiomon"')" = "$FIT" ]; do
	sleep 1
done
echo "W-WATCHED $FIT"
for line in "$FIT" "$LAST"; do
	gpiomon --num-events=1 "$CHIP" "$line" >"$D/beyond.$line" 2>&1
	echo "W-BEYOND $line rc=$? $(cat "$D/beyond.$line")"
done

# The test raises one line in each program's range.
sync_point toggle
wait
echo "W-EVENTS $(cat "$D"/mon.* | grep -c 'RISING EDGE')"
rmmod vgpio; echo "W-RMMOD rc=$?"
finish
