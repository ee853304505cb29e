#!/bin/sh
# PID 1 of the fault-injection guest (tests/e2e/test_e2e_uml_fault_injection.py),
# run on debug kernels only. Our module's probe of a standard-protocol
# device (ID 41), again and again, with the Nth fault point of the probing
# task failing (fail-nth: slab and page allocations alike), N = 1, 2, ...
# until a probe runs with no fault left to inject. Every failed probe must unwind with a clear error and no
# warning, no leak (kmemleak at the end), and the device must work after
# the last, clean probe.
D="@DIR@"
. "@GUEST@/guest-lib.sh"

finish() {
	report_and_power_off FI
}

DRV=/sys/bus/virtio/drivers/vgpio
insmod "$D/vgpio.ko" timeout_ms=500 || { echo "FI-FAIL insmod"; finish; }

# Only faults with our module on the stack: not the shell's own opening
# of files. And none inside UML's um_request_irq(), whose error path
# leaves the interrupt registered (a WARNING at arch/um/kernel/irq.c,
# then EALREADY at every later probe): a bug of UML's, not ours to find.
# The test finds its address range in the build's System.map (UML is
# linked where it runs).
# By default both fault types also spare allocations that may sleep
# (almost all of a probe's) and page allocations of order 0, and print a
# stack per injected fault, which would read as a warning.
text=$(cat /sys/module/vgpio/sections/.text)
size=$(awk '$1 == "vgpio" { print $2 }' /proc/modules)
[ -n "$text" ] && [ -n "$size" ] || {
	echo "FI-FAIL no module range: text=$text size=$size"
	finish
}
echo "FI-RANGES module $text+$size reject @REJECT_START@..@REJECT_END@"
for kind in failslab fail_page_alloc; do
	F=/sys/kernel/debug/$kind
	echo N > "$F/ignore-gfp-wait" || finish
	echo 0 > "$F/verbose" || finish
	echo "$text" > "$F/require-start" || finish
	printf '%d\n' $((text + size)) > "$F/require-end" || finish
	echo @REJECT_START@ > "$F/reject-start" || finish
	echo @REJECT_END@ > "$F/reject-end" || finish
done
echo 0 > /sys/kernel/debug/fail_page_alloc/min-order || finish
DEV=$(basename "$(readlink -f "$(ls -d "$DRV"/virtio* | head -n 1)")")
[ -n "$DEV" ] && [ -e "$DRV/$DEV" ] || { echo "FI-FAIL nothing bound"; finish; }
[ -w /proc/self/fail-nth ] || { echo "FI-FAIL no /proc/self/fail-nth"; finish; }
echo "$DEV" > "$DRV/unbind"

# fail-nth counts down in the task that wrote it: the subshell writes it,
# binds (the probe runs in the writer's task) and reads what is left.
# Nothing left means the fault fired; a count left means the bind ran to
# its end with no fault to spare, so every fault point has been tried.
n=1
failed=0
while [ "$n" -le @MAX@ ]; do
	left=$(
		echo "$n" > /proc/self/fail-nth
		echo "$DEV" > "$DRV/bind" 2>/dev/null
		read -r rest < /proc/self/fail-nth
		echo "${rest:-0}"
	)
	[ "$left" != 0 ] && break
	if [ -e "$DRV/$DEV" ]; then
		echo "$DEV" > "$DRV/unbind"
	else
		failed=$((failed + 1))
	fi
	n=$((n + 1))
done
echo "FI-TRIED $((n - 1)) FAILED $failed LAST-LEFT $left"

CHIP=$(gpiodetect | sed -n 's/^\(gpiochip[0-9]*\) .*(@LINES@ lines)$/\1/p')
echo "FI-CHIP $CHIP"
gpioset "$CHIP" 1=1; echo "FI-SET rc=$?"
echo "FI-GET $(gpioget "$CHIP" 2 2>&1)"
rmmod vgpio; echo "FI-RMMOD rc=$?"
finish
