# /init of the QEMU run against a device that never answers: how long
# the probe takes.
# After qemu-init-head.sh and the insmod of virtio_pci's modules
# (e2e_helpers.qemu_initramfs); the test fills in the words between @ signs.
begin=$(cut -d. -f1 /proc/uptime)
insmod /lib/driver.ko timeout_ms=@TIMEOUT_MS@; echo "S-INSMOD rc=$?"
echo "S-SECONDS $(( $(cut -d. -f1 /proc/uptime) - begin ))"
ls /dev/gpiochip* 2>&1
rmmod @MODULE@; echo "RMMOD rc=$?"
echo "S-DMESG-BEGIN"
dmesg
echo "S-DMESG-END"
poweroff -f
