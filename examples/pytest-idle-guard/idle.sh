# The guest program under test: waits a second for a press of the
# button and lights the LED if one comes. Without a press it must leave
# the LED alone. gpiofind prints "CHIP OFFSET", the arguments the other
# tools take.
button=$(gpiofind button) || { echo "no line named button"; exit 1; }
led=$(gpiofind led) || { echo "no line named led"; exit 1; }
# gpiomon ends quietly, status 0, when timeout stops it: a press is
# the line it prints.
pressed=$(timeout 1 gpiomon --num-events=1 --rising-edge $button)
if [ -n "$pressed" ]; then
	gpioset $led=1
fi
exit 0
