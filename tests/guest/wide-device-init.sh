#!/bin/sh
# PID 1 of the all-lines-watched guest (tests/e2e/test_e2e_uml_watched_lines.py):
# a standard device of 256 lines, and a program watching every line the
# eventq can serve. UML's eventq has 256 entries and a waiting line takes
# two (no indirect descriptors), so 128 lines can be armed; a line past
# them must be refused when it is requested, not left never to fire.
D="@DIR@"
. "@GUEST@/guest-lib.sh"

finish() {
	report_and_power_off W
}

insmod "$D/vgpio.ko" timeout_ms=500 || { echo "W-FAIL insmod"; finish; }
CHIP=$(gpiodetect | sed -n 's/^\(gpiochip[0-9]*\) .*(256 lines)$/\1/p')
echo "W-CHIP $CHIP"
[ -n "$CHIP" ] || finish

# One request holds at most 64 lines: two programs watch lines 0..127.
for first in 0 64; do
	gpiomon --num-events=1 "$CHIP" $(seq "$first" $((first + 63))) \
		>"$D/mon.$first" 2>&1 &
done
until [ "$(gpioinfo "$CHIP" | grep -c '"gpiomon"')" = 128 ]; do
	sleep 0.1
done
echo "W-WATCHED 128"
gpiomon --num-events=1 "$CHIP" 200 >"$D/mon.200" 2>&1
echo "W-BEYOND rc=$? $(cat "$D/mon.200")"

# The test toggles one line in each program's range.
sync_point toggle
wait
echo "W-EVENTS $(cat "$D/mon.0" "$D/mon.64" | grep -c 'RISING EDGE')"
rmmod vgpio; echo "W-RMMOD rc=$?"
finish
