# The guest program under test: the LED shows the button, pressed or
# not, until the program is stopped. libgpiod 1.6's tools, found by line
# name, so the chip's number does not matter.
button=$(gpiofind button) || { echo "no line named button"; exit 1; }
led=$(gpiofind led) || { echo "no line named led"; exit 1; }
set -- $button $led
[ "$1" = "$3" ] || { echo "button and led are on different chips"; exit 1; }
chip=$1 button=$2 led=$4

holder=
show() {
	# gpioset keeps driving the LED while it runs: one per level.
	if [ -n "$holder" ]; then
		kill "$holder"
		wait "$holder"
	fi
	gpioset --mode=signal "$chip" "$led=$1" &
	holder=$!
}

# The level now, then one line per edge (1 rising, 0 falling); without
# --line-buffered gpiomon would keep its lines until its buffer fills.
{
	gpioget "$chip" "$button"
	gpiomon --line-buffered --format=%e "$chip" "$button"
} | while read -r level; do
	show "$level"
done
