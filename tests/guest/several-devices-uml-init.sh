#!/bin/sh
# PID 1 of the UML run with several devices, the host's root as its own:
# the checks are tests/guest/several-devices.sh; sync_point (guest-lib.sh)
# waits for the test's $D/go.name file.
D="@DIR@"
. "@GUEST@/guest-lib.sh"
PROBE="$D/gpio-probe"
KO="$D/driver.ko"
PLAN="@PLAN@"
UNBIND=@UNBIND@
IRQ_FIRST=@IRQ_FIRST@

finish() {
	report_and_power_off MD
}

. "@GUEST@/several-devices.sh"
