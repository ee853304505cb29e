# idle.sh with the bug the guard is there for: it switches the LED off
# before it waits, "to be safe". The LED was off already, so its level
# never changes; only the line's events show that the guest drove it.
button=$(gpiofind button) || { echo "no line named button"; exit 1; }
led=$(gpiofind led) || { echo "no line named led"; exit 1; }
gpioset $led=0
# gpiomon ends quietly, status 0, when timeout stops it: a press is
# the line it prints.
pressed=$(timeout 1 gpiomon --num-events=1 --rising-edge $button)
if [ -n "$pressed" ]; then
	gpioset $led=1
fi
exit 0
