# /init of the QEMU standard-protocol runs, with our module or Linux's
# gpio-virtio. Every wait on an edge is bounded, so a lost interrupt
# fails the run instead of hanging it.
# After qemu-init-head.sh and the insmod of virtio_pci's modules
# (e2e_helpers.qemu_initramfs); the test fills in the words between @ signs.
insmod /lib/driver.ko || echo "STD-FAIL insmod"
echo "STD-BOUND $(basename "$(readlink /sys/bus/virtio/devices/virtio0/driver)")"
echo "STD-FEATURES $(cat /sys/bus/virtio/devices/virtio0/features)"
gpio-probe /dev/gpiochip0 info - -
gpio-probe /dev/gpiochip0 rw 1 50
echo "STD-LAT-GET $(gpio-probe /dev/gpiochip0 get 0 200)"
timeout 60 gpio-probe /dev/gpiochip0 edges @EDGE_LINE@ @HOST_EDGES@
echo "STD-EDGES rc=$?"
loop=$(timeout 60 gpio-probe /dev/gpiochip0 loop @LOOP_OUT@ @LOOP_EDGES@)
echo "STD-LOOP rc=$? $loop"
for l in 0 1 3; do gpio-probe /dev/gpiochip0 rw $l 100 & done
wait
rmmod @MODULE@; echo "RMMOD rc=$?"
i=0
while [ $i -lt 10 ]; do
	insmod /lib/driver.ko || break
	[ -e /dev/gpiochip0 ] || break
	gpio-probe /dev/gpiochip0 rw 3 2 >/dev/null || break
	rmmod @MODULE@ || break
	i=$((i + 1))
done
echo "CYCLES $i"
echo "STD-DMESG-BEGIN"
dmesg
echo "STD-DMESG-END"
poweroff -f
