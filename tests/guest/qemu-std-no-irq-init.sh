# /init of the QEMU run against a device without VIRTIO_GPIO_F_IRQ: our
# module has no eventq then, and an edge request must fail at once,
# while values keep working.
# After qemu-init-head.sh and the insmod of virtio_pci's modules
# (e2e_helpers.qemu_initramfs); the test fills in the words between @ signs.
insmod /lib/driver.ko || echo "STD-FAIL insmod"
echo "STD-FEATURES $(cat /sys/bus/virtio/devices/virtio0/features)"
timeout 60 gpio-probe /dev/gpiochip0 edges 2 1; echo "STD-EDGES rc=$?"
gpio-probe /dev/gpiochip0 rw 1 20
rmmod @MODULE@; echo "RMMOD rc=$?"
echo "STD-DMESG-BEGIN"
dmesg
echo "STD-DMESG-END"
poweroff -f
