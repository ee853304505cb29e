# /init of the QEMU run with several devices, after qemu-init-head.sh and
# virtio_pci (e2e_helpers.qemu_initramfs). The test types a line on the
# console at each "SYNC name" once it has checked the device models.
PROBE=gpio-probe
KO=/lib/driver.ko
PLAN="@PLAN@"
UNBIND=@UNBIND@
IRQ_FIRST=@IRQ_FIRST@

sync_point() {
	echo "SYNC $1"
	read -r _
}

finish() {
	echo "MD-DMESG-BEGIN"
	dmesg
	echo "MD-DMESG-END"
	poweroff -f
}

. /lib/several-devices.sh
