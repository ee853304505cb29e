# /init of the QEMU power-management runs, with our module or Linux's
# gpio-virtio: a suspend and a hibernation through the PM core's test
# mode (/sys/power/pm_test), a real suspend to RAM woken by the RTC, and
# a hibernation to a swap disk, each with
# a line held as an output and a line watched for edges across it.
# Linux's driver hangs in an uninterruptible wait once its queues are
# gone: every check after a resume is bounded and runs in the
# background, so the run goes on.
# After qemu-init-head.sh and the insmod of virtio_pci's modules
# (e2e_helpers.qemu_initramfs); the test fills in the words between @ signs.
# The second boot of a real hibernation resumes the image here, before
# the driver is loaded: the script then goes on where the image was
# written. On the first boot there is no image and nothing happens.
insmod /lib/virtio_blk.ko
[ -e /sys/block/vda/dev ] && cat /sys/block/vda/dev > /sys/power/resume
insmod /lib/driver.ko || echo "PM-FAIL insmod"
for dev in /sys/bus/virtio/devices/*; do
	[ "$(cat "$dev/device")" = 0x0029 ] && break
done
echo "PM-BOUND $(basename "$(readlink "$dev/driver")")"
echo "PM-STATES $(cat /sys/power/state) / $(cat /sys/power/pm_test)"
delay=/sys/module/suspend/parameters/pm_test_delay
[ -w $delay ] && echo 1 > $delay
# Tasks a driver left in D state make the freezer give up: after 3 s,
# not the default 20.
echo 3000 > /sys/power/pm_freeze_timeout
gpio-probe /dev/gpiochip0 hold @OUT_LINE@ /tmp > /tmp/hold.out 2>&1 &
gpio-probe /dev/gpiochip0 edges @EDGE_LINE@ @EDGES@ &
sleep 1
echo "PM-$(cat /tmp/hold.out)"
# The host drives edges until the next SYNC's answer.
echo "SYNC before"
read -r _

# Run "$@" in the background, its output to /tmp/cmd.out; print "rc=N"
# and the output, or "hung" if it has not finished within 5 s. (A
# zombie answers kill -0: the command itself says it is done.)
bounded() {
	rm -f /tmp/cmd.rc
	("$@" > /tmp/cmd.out 2>&1; echo "rc=$?" > /tmp/cmd.rc) \
		> /dev/null 2>&1 < /dev/null &
	i=0
	while [ ! -e /tmp/cmd.rc ]; do
		[ $i -ge 50 ] && { echo hung; return; }
		sleep 0.1
		i=$((i + 1))
	done
	echo "$(cat /tmp/cmd.rc) $(cat /tmp/cmd.out)"
}

# One sleep of the PM core: $1 names it, $2 is the /sys/power/state word,
# $3 the number of the hold process' read-back, $4 the pm_test level.
sleep_and_check() {
	echo "$4" > /sys/power/pm_test
	echo "$2" > /sys/power/state
	echo "PM-$1 rc=$?"
	echo none > /sys/power/pm_test
	echo "PM-$1-GET $(bounded gpio-probe /dev/gpiochip0 get @IN_LINE@ 1)"
	touch "/tmp/go.$3"
	i=0
	while ! grep -q "HELD $3 " /tmp/hold.out && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	echo "PM-$1-HELD $(grep "HELD $3 " /tmp/hold.out || echo hung)"
	echo "SYNC edges-$1"
	read -r _
}

sleep_and_check SUSPEND mem 1 @PM_TEST@
# A real suspend to RAM: QEMU stops the machine in S3 until the RTC's
# alarm wakes it, and the firmware resumes the kernel.
echo +3 > /sys/class/rtc/rtc0/wakealarm
sleep_and_check S3 mem 2 none
sleep_and_check HIBERNATION disk 3 @PM_TEST@
# A real hibernation: the image goes to the swap disk and the machine
# powers off; the test boots it again on a fresh device, which knows
# nothing of what this one was told.
mkswap /dev/vda > /dev/null && swapon /dev/vda
echo shutdown > /sys/power/disk
echo "PM-IMAGE-GO"
sleep_and_check IMAGE disk 4 none
echo "PM-DMESG-BEGIN"
dmesg
echo "PM-DMESG-END"
poweroff -f
