# The command vgpio-guest runs in the re-plug test
# (tests/e2e/test_e2e_vgpio_guest.py): read line 1 again and again while
# the host kills the backend and starts it anew. The chip is looked up
# each time, as the re-plugged device is a new chip. It stops at the
# first high level read after a failed read: the host raises the line
# only once the device is back. libgpiod 1.6's tools (Debian 12).
failed=0
i=0
while [ $i -lt 400 ]; do
	chip=$(gpiodetect 2>/dev/null | sed -n 's/^\(gpiochip[0-9]*\) .*/\1/p' | head -n 1)
	v=$(gpioget "${chip:-none}" 1 2>&1)
	echo "GET $i ${chip:-none} $v"
	case "$v" in 0|1) ;; *) failed=1 ;; esac
	[ $failed = 1 ] && [ "$v" = 1 ] && break
	sleep 0.2
	i=$((i + 1))
done
echo "LOOP-END $i"
# The output line of the new device, held high while the host reads it.
gpioset --mode=time --sec=8 "$chip" 0=1 &
echo "LED-SET $chip"
wait
echo "PROBES-BEGIN"
dmesg | grep 'vgpio virtio.*: 2 lines$'
echo "PROBES-END"
