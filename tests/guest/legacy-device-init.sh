#!/bin/sh
# PID 1 of the legacy-device guest (tests/e2e/test_e2e_uml_legacy_device.py):
# a standard device offered without VIRTIO_F_VERSION_1 (virtio0) beside a
# 1.x one (virtio1); our module must refuse the first and bind the second.
D="@DIR@"
. "@GUEST@/guest-lib.sh"
insmod "$D/vgpio.ko" timeout_ms=500; echo "LEG-INSMOD rc=$?"
echo "LEG-CHIPS $(gpiodetect | tr '\n' ';')"
for dev in virtio0 virtio1; do
	driver=$(basename "$(readlink "/sys/bus/virtio/devices/$dev/driver")")
	echo "LEG-BOUND $dev ${driver:-none}"
done
rmmod vgpio; echo "LEG-RMMOD rc=$?"
report_and_power_off LEG
