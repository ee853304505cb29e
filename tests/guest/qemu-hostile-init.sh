# /init of the QEMU hostile-device run. At each "SYNC x" it reads a
# line from the console, which the test types once it has injected the
# fault.
# After qemu-init-head.sh and the insmod of virtio_pci's modules
# (e2e_helpers.qemu_initramfs); the test fills in the words between @ signs.
insmod /lib/driver.ko timeout_ms=@TIMEOUT_MS@ || echo "H-FAIL insmod"
gpio-probe /dev/gpiochip0 info - -
timeout 10 gpio-probe /dev/gpiochip0 edges @BEYOND@ 1; echo "H-BEYOND rc=$?"
timeout 60 gpio-probe /dev/gpiochip0 edges @LAST@ 2; echo "H-LAST rc=$?"
for spec in @FAULTS@; do
	fault=${spec%:*}
	line=${spec#*:}
	gpio-probe /dev/gpiochip0 getafter "$line" "/tmp/go.fault-$fault" \
		2>/tmp/fault.out &
	probe=$!
	read -r _
	touch "/tmp/go.fault-$fault"
	wait $probe
	echo "FAULT $fault rc=$? $(cat /tmp/fault.out)"
done
echo "SYNC forged"
read -r _
sleep 1
gpio-probe /dev/gpiochip0 rw 1 20
timeout 5 gpio-probe /dev/gpiochip0 edges 2 1 >/dev/null 2>&1
echo "H-FORGED-EDGES rc=$?"
# A device that stops answering: the test stalls the backend at "SYNC
# stall" and resumes it at "SYNC resume". One timeout, then failures at
# once until the device answers again; then the lines work. Times in
# centiseconds of /proc/uptime.
centis() {
	read -r up _ < /proc/uptime
	echo "${up%.*}${up#*.}"
}
echo "SYNC stall"
read -r _
echo 2000 > /sys/module/@MODULE@/parameters/timeout_ms
for i in 1 2 3 4; do
	t0=$(centis)
	out=$(gpio-probe /dev/gpiochip0 get 9 1 2>&1)
	rc=$?
	echo "STALL-GET $i rc=$rc cs=$(( $(centis) - t0 )) $out"
done
echo "SYNC resume"
read -r _
sleep 1
gpio-probe /dev/gpiochip0 rw 9 20
echo "H-STALL-AFTER rc=$?"
rmmod @MODULE@; echo "RMMOD rc=$?"
insmod /lib/driver.ko timeout_ms=@TIMEOUT_MS@ && \
	gpio-probe /dev/gpiochip0 rw 9 10 && rmmod @MODULE@
echo "H-RELOAD rc=$?"
echo "H-DMESG-BEGIN"
dmesg
echo "H-DMESG-END"
poweroff -f
