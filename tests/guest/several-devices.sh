# The checks of several virtio GPIO devices in one guest
# (tests/e2e/test_e2e_several_devices.py), sourced by the QEMU and the UML
# init script. They set PROBE (gpio-probe), KO (the driver), PLAN and
# UNBIND, and define sync_point NAME (print "SYNC NAME", wait for the
# test) and finish (kernel log, power off).
#
# PLAN is one "FIRST:WATCH:DRIVE" per device: the name of its line 0, by
# which the guest finds its chip, the input line watched for edges and
# the line driven. UNBIND is the FIRST of the device unbound and bound
# again. IRQ_FIRST=0 leaves out the first watch of every device, so that
# the first interrupts are requested after the unbind. Every wait is bounded: a driver that loses an interrupt or
# oopses fails the run, it does not hang it.

insmod "$KO" || { echo "MD-FAIL insmod"; finish; }
DRV=$(basename "$(readlink /sys/bus/virtio/devices/virtio0/driver)")
echo "MD-DRIVER $DRV"

# The /dev node of the chip whose line 0 is named $1; empty if none.
chip_of() {
	for c in /dev/gpiochip*; do
		[ -e "$c" ] || continue
		if $PROBE "$c" info - - | grep -q "^LINE 0 name=$1 "; then
			echo "$c"
			return
		fi
	done
}

# "MD-SURVEY PHASE virtioN gpiochipM label=L lines=N names=a,b values=01"
# per virtio device, "MD-SURVEY PHASE virtioN none" for one without chip.
survey() {
	for dev in /sys/bus/virtio/devices/virtio*; do
		chip=""
		for c in "$dev"/gpiochip*; do [ -e "$c" ] && chip=$(basename "$c"); done
		if [ -z "$chip" ]; then
			echo "MD-SURVEY $1 $(basename "$dev") none"
			continue
		fi
		head=$($PROBE "/dev/$chip" info - - | head -n 1)
		names=""
		for n in $($PROBE "/dev/$chip" info - - | grep '^LINE' | cut -d ' ' -f 3 | cut -d = -f 2); do
			names="$names${names:+,}$n"
		done
		values=$($PROBE "/dev/$chip" values - - 2>&1)
		echo "MD-SURVEY $1 $(basename "$dev") $chip ${head#CHIP } names=$names values=${values#VALUES }"
	done
}

# The kernel oopsed: later steps could hang on a lock the dead task held,
# so the run stops here. A report that kills no task (lockdep's, KASAN's)
# goes on to the end, and the test reads it in the kernel log.
stop_if_oopsed() {
	if dmesg | grep -q '\] Oops: '; then
		echo "MD-OOPSED $1"
		finish
	fi
}

# Drive line DRIVE of each device in $2 ("FIRST ...") to $1.
drive() {
	level=$1
	shift
	for first in "$@"; do
		for entry in $PLAN; do
			[ "${entry%%:*}" = "$first" ] || continue
			line=${entry##*:}
			$PROBE "$(chip_of "$first")" drive "$line" "$level"
			echo "MD-DRIVE $first line=$line level=$level rc=$?"
		done
	done
}

# The state of process $1: R, S, D, Z..., or "gone".
proc_state() {
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo gone; return; }
	set -- $stat
	echo "$3"
}

# The kernel's "PID: n Comm:" lines of its oopses (not of its warnings,
# which print the same line after their own first line).
oops_pids() {
	dmesg | grep -A 1 '\] Oops: ' | grep -o 'PID: [0-9]* Comm:'
}

# Whether process $1 died in a kernel oops: it may never end.
oopsed() {
	oops_pids | grep -q "PID: $1 Comm:"
}

# Watch line WATCH of each device in $2.. ("FIRST ..."), two edges each,
# which the test raises one device after the other; $1 names the phase.
# Once the test has raised them all ("SYNC watched-PHASE"), a watcher
# still running 2 s later lost an edge and is killed, unless it died in an
# oops.
watch() {
	phase=$1
	shift
	echo "MD-WATCH $phase $*"
	pids=""
	for first in "$@"; do
		for entry in $PLAN; do
			[ "${entry%%:*}" = "$first" ] || continue
			rest=${entry#*:}
			$PROBE "$(chip_of "$first")" edges "${rest%%:*}" 2 &
			pids="$pids $first:$!"
		done
	done
	sync_point "watched-$phase"
	i=0
	while [ $i -lt 10 ]; do
		busy=0
		oopses=$(oops_pids)
		for p in $pids; do
			case $(proc_state "${p#*:}") in
			Z|gone) ;;
			*) case $oopses in *"PID: ${p#*:} Comm:"*) ;; *) busy=1 ;; esac ;;
			esac
		done
		[ $busy = 0 ] && break
		sleep 0.2
		i=$((i + 1))
	done
	for p in $pids; do
		pid=${p#*:}
		state=$(proc_state "$pid")
		if oopsed "$pid"; then
			echo "MD-WATCHED $phase ${p%%:*} oops"
		elif [ "$state" = Z ] || [ "$state" = gone ]; then
			wait "$pid"
			echo "MD-WATCHED $phase ${p%%:*} rc=$?"
		else
			kill -9 "$pid"
			wait "$pid"
			echo "MD-WATCHED $phase ${p%%:*} lost"
		fi
	done
	stop_if_oopsed "watch-$phase"
}

ALL=""
for entry in $PLAN; do ALL="$ALL ${entry%%:*}"; done
OTHERS=""
for first in $ALL; do [ "$first" = "$UNBIND" ] || OTHERS="$OTHERS $first"; done

survey boot
drive 1 $ALL
sync_point driven
[ "$IRQ_FIRST" = 0 ] || watch all $ALL

chip=$(basename "$(chip_of "$UNBIND")")
VDEV=""
for dev in /sys/bus/virtio/devices/virtio*; do
	[ -e "$dev/$chip" ] && VDEV=$(basename "$dev")
done
echo "$VDEV" > "/sys/bus/virtio/drivers/$DRV/unbind"
echo "MD-UNBIND $VDEV rc=$?"
stop_if_oopsed unbind
survey unbound
drive 0 $OTHERS
sync_point others-driven
watch unbound $OTHERS

echo "$VDEV" > "/sys/bus/virtio/drivers/$DRV/bind"
echo "MD-BIND $VDEV rc=$?"
stop_if_oopsed bind
survey rebound
drive 0 "$UNBIND"
sync_point rebound-driven
watch rebound $ALL
echo "MD-DONE"
finish
