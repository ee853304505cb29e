# Sourced by the UML guests' init scripts (PID 1, with the host's root
# filesystem), after they set D to their work directory: the file systems
# they use, and what they share.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

# Print "SYNC name", then wait until the test creates $D/go.name.
sync_point() {
	echo "SYNC $1"
	while [ ! -e "$D/go.$1" ]; do sleep 0.05; done
}

# On a debug kernel (virtio_gpio.guests.uml.DEBUG_FRAGMENT) print what kmemleak
# finds between KMEMLEAK-BEGIN and KMEMLEAK-END; elsewhere nothing. Two
# scans some seconds apart: kmemleak reports only objects it found
# unreferenced in a scan and still unreferenced after a while.
kmemleak_report() {
	[ -e /sys/kernel/debug/kmemleak ] || return 0
	echo scan > /sys/kernel/debug/kmemleak
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	echo "KMEMLEAK-BEGIN"
	cat /sys/kernel/debug/kmemleak
	echo "KMEMLEAK-END"
}

# The end of a run: kmemleak's findings, the kernel log between
# $1-DMESG-BEGIN and $1-DMESG-END, the line $2 if given, and power off.
report_and_power_off() {
	kmemleak_report
	echo "$1-DMESG-BEGIN"
	dmesg --color=never
	echo "$1-DMESG-END"
	[ -z "${2:-}" ] || echo "$2"
	/bin/busybox poweroff -f
}
