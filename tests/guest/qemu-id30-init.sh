# /init of the QEMU run of the 2020 protocol (device ID 30).
# "getafter" reads its line once, after the file named exists (here at
# once): the level the host drove, on stderr.
# After qemu-init-head.sh and the insmod of virtio_pci's modules
# (e2e_helpers.qemu_initramfs); the test fills in the words between @ signs.
insmod /lib/vgpio.ko
echo "ID30-UNASKED $(cat /sys/bus/virtio/devices/virtio0/status) $(readlink /sys/bus/virtio/devices/virtio0/driver || echo unbound)"
rmmod vgpio
insmod /lib/vgpio.ko bind_id30=1 || echo "ID30-FAIL insmod"
echo "ID30-DEVICE $(cat /sys/bus/virtio/devices/virtio0/device)"
echo "ID30-BOUND $(basename "$(readlink /sys/bus/virtio/devices/virtio0/driver)")"
gpio-probe /dev/gpiochip0 info - -
echo "ID30-HOST-LEVEL $(gpio-probe /dev/gpiochip0 getafter @LEVEL_LINE@ /init 2>&1 >/dev/null)"
gpio-probe /dev/gpiochip0 rw @RW_LINE@ @RW_COUNT@
timeout 60 gpio-probe /dev/gpiochip0 edges @EDGE_LINE@ @HOST_EDGES@
echo "ID30-EDGES rc=$?"
rmmod vgpio; echo "RMMOD rc=$?"
i=0
while [ $i -lt @CYCLES@ ]; do
	insmod /lib/vgpio.ko bind_id30=1 || break
	[ -e /dev/gpiochip0 ] || break
	gpio-probe /dev/gpiochip0 rw 4 2 >/dev/null || break
	rmmod vgpio || break
	i=$((i + 1))
done
echo "CYCLES $i"
echo "ID30-DMESG-BEGIN"
dmesg
echo "ID30-DMESG-END"
poweroff -f
