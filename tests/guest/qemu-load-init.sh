# /init of the QEMU load test: probe/remove cycles of vgpio.ko on one
# standard-protocol device, each doing line info, a write/read-back and
# looped-back edges.
# After qemu-init-head.sh and the insmod of virtio_pci's modules
# (e2e_helpers.qemu_initramfs); the test fills in the words between @ signs.
DRV=/sys/bus/virtio/drivers/vgpio
fail() { echo "LOAD-FAIL cycle $i: $*"; }
i=0
while [ $i -lt @CYCLES@ ]; do
	# Probe: even cycles by loading the module, odd ones by binding the
	# device to the module loaded in the previous cycle.
	if [ $((i % 2)) = 0 ]; then
		insmod /lib/driver.ko || { fail insmod; break; }
	else
		echo virtio0 > $DRV/bind || { fail bind; break; }
	fi
	[ "$(basename "$(readlink /sys/bus/virtio/devices/virtio0/driver)")" = vgpio ] ||
		{ fail "device not bound"; break; }
	[ -e /dev/gpiochip0 ] || { fail "no /dev/gpiochip0"; break; }
	n=$(gpio-probe /dev/gpiochip0 info - - | grep -c "^LINE ")
	[ "$n" = @LINES@ ] || { fail "line info: $n lines"; break; }
	gpio-probe /dev/gpiochip0 rw $((i % 4)) 4 >/dev/null || { fail rw; break; }
	# Edges through the eventq; the fourth figure is the edges lost.
	loop=$(timeout 20 gpio-probe /dev/gpiochip0 loop 4 2) || { fail "loop: $loop"; break; }
	echo "CYCLE $i LOOP $loop"
	# Remove: even cycles unbind the device and keep the module, odd ones
	# unload the module from under the bound device.
	if [ $((i % 2)) = 0 ]; then
		echo virtio0 > $DRV/unbind || { fail unbind; break; }
		grep -q "^vgpio " /proc/modules || { fail "module gone"; break; }
	else
		rmmod vgpio || { fail rmmod; break; }
		[ -d $DRV ] && { fail "driver still registered"; break; }
	fi
	[ -e /sys/bus/virtio/devices/virtio0/driver ] && { fail "still bound"; break; }
	[ -e /dev/gpiochip0 ] && { fail "/dev/gpiochip0 left behind"; break; }
	i=$((i + 1))
done
echo "LOAD-CYCLES $i"
echo "FEATURES $(cat /sys/bus/virtio/devices/virtio0/features)"
echo "LOAD-DMESG-BEGIN"
dmesg
echo "LOAD-DMESG-END"
poweroff -f
