#!/bin/sh
# PID 1 of the UML end-to-end guest (tests/e2e/test_e2e_uml.py). The root
# filesystem is the host's, so libgpiod's tools and gpio-probe run here.
# "SYNC name" lines wait until the test creates $D/go.name on the host.
D="@DIR@"
. "@GUEST@/guest-lib.sh"

finish() {
	report_and_power_off E2E E2E-END
}

# Unasked, the module leaves every device of ID 30 (the virtio spec's
# video encoder) alone: not bound, its status as the transport set it.
insmod "$D/vgpio.ko" timeout_ms=500 || { echo "E2E-FAIL insmod"; finish; }
for dev in /sys/bus/virtio/devices/*; do
	[ "$(cat "$dev/device")" = 0x001e ] || continue
	echo "ID30-UNASKED $(basename "$dev") status=$(cat "$dev/status") driver=$(basename "$(readlink "$dev/driver" || echo none)")"
done
rmmod vgpio

T0=$(date +%s%N)
insmod "$D/vgpio.ko" timeout_ms=500 bind_id30=1 || { echo "E2E-FAIL insmod"; finish; }
echo "INSMOD-MS $((($(date +%s%N) - T0) / 1000000))"
echo "GPIODETECT-BEGIN"; gpiodetect; echo "GPIODETECT-END"
CHIP=$(gpiodetect | sed -n 's/^\(gpiochip[0-9]*\) \[vgpio-e2e\].*/\1/p')
echo "CHIP $CHIP"
[ -n "$CHIP" ] || finish
echo "GPIOINFO-BEGIN"; gpioinfo "$CHIP"; echo "GPIOINFO-END"
# The device with hostile names is the only one of 5 lines.
HOSTILE=$(gpiodetect | sed -n 's/^\(gpiochip[0-9]*\) .*(5 lines)$/\1/p')
echo "HOSTILE-INFO-BEGIN"; gpioinfo "$HOSTILE"; echo "HOSTILE-INFO-END"

# Values and directions, checked in the backend's model at each sync point.
gpioset "$CHIP" 1=1; echo "GPIOSET rc=$?"
sync_point set
echo "GPIOGET $(gpioget "$CHIP" 2)"
echo "GPIOINFO2-BEGIN"; gpioinfo "$CHIP"; echo "GPIOINFO2-END"
sync_point get

# gpiomon sees the backend's toggles; its lines reach the console at once.
(stdbuf -oL gpiomon --num-events=2 "$CHIP" 3; echo "GPIOMON rc=$?") |
	sed -u 's/^/GPIOMON /' &
until gpioinfo "$CHIP" | grep -q '"gpiomon"'; do sleep 0.05; done
echo "GPIOMON-READY"
wait

# Edge latency: the test toggles line 4 after EDGES-READY.
"$D/gpio-probe" "/dev/$CHIP" edges 4 20

# Parallel requests from several processes on several lines.
for l in 5 6 7; do "$D/gpio-probe" "/dev/$CHIP" rw $l 100 & done
wait

# Guest-visible latency of a get and a set.
echo "LAT-GET $("$D/gpio-probe" "/dev/$CHIP" get 0 300)"
echo "LAT-SET $("$D/gpio-probe" "/dev/$CHIP" set 6 300)"

# Faults injected by the test at each sync point, each on its own line;
# afterwards every one of those lines must work again.
for spec in drop:0 corrupt_line:5 short_len:6 duplicate:7; do
	fault=${spec%:*}
	line=${spec#*:}
	sync_point "fault-$fault"
	out=$(gpioget "$CHIP" "$line" 2>&1)
	echo "FAULT $fault rc=$? $out"
done
echo "AFTER-FAULTS $(gpioget "$CHIP" 0 5 6 7 2>&1)"

# Unload with the device attached, then 20 load/unload cycles.
rmmod vgpio; echo "RMMOD rc=$?"
i=0
while [ $i -lt 20 ]; do
	insmod "$D/vgpio.ko" timeout_ms=500 bind_id30=1 || break
	gpiodetect | grep -q vgpio-e2e || break
	rmmod vgpio || break
	i=$((i + 1))
done
echo "CYCLES $i"

# Last, because Linux 6.1 cannot recover from it: unbind while a reader
# holds a line with requests in flight. The reader must fail cleanly;
# gpiolib then keeps the removed chip (and a reference on the module)
# until reboot, and registering a named chip would crash in
# gpio_name_to_desc() on that zombie, so there is no rebind here.
insmod "$D/vgpio.ko" timeout_ms=500 bind_id30=1
CHIP=$(gpiodetect | sed -n 's/^\(gpiochip[0-9]*\) \[vgpio-e2e\].*/\1/p')
VDEV=$(basename "$(dirname "$(readlink -f "/sys/bus/gpio/devices/$CHIP")")")
"$D/gpio-probe" "/dev/$CHIP" get 0 1000000 > "$D/reader.out" 2>&1 &
READER=$!
sleep 0.5
echo "$VDEV" > /sys/bus/virtio/drivers/vgpio/unbind; echo "UNBIND rc=$?"
wait $READER; echo "READER rc=$? $(cat "$D/reader.out")"
echo "UNBOUND $(gpiodetect | grep -c vgpio-e2e)"
finish
