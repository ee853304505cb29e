"""The guard: run a guest program with the button left alone and check
that it never drove the LED meanwhile. A level check could not tell: a
program that drives the LED to the level it has already leaves the level
as it was. The backend's line events show every drive.
"""

import time

import pytest

#: seconds without an event after which the program's events are all in
QUIET = 0.5


def events_until_quiet(events):
    """Every event the stream holds, up to QUIET seconds of silence."""
    seen = []
    try:
        for event in events:
            seen.append(event)
    except TimeoutError:
        pass
    return seen


@pytest.fixture
def assert_idle(vgpio_bench, vgpio_guest):
    """``assert_idle(program)``: run ``program`` (sh) in the guest, the
    button released, and fail if the guest drove the LED meanwhile."""

    def check(program):
        vgpio_bench.set_input("button", 0)
        start = time.time()
        with vgpio_bench.events(timeout=QUIET) as events:
            result = vgpio_guest.run(program, timeout=30)
            # The program has ended: what it did to the lines was
            # streamed before, so the stream only has to be emptied.
            seen = events_until_quiet(events)
        assert result.status == 0, result.output
        drives = ["led=%s at +%.2f s" % (e.value, e.time - start)
                  for e in seen if e.name == "led" and e.kind == "drive"]
        assert not drives, "the guest drove led while it should be idle: " \
            + ", ".join(drives)
        return seen

    return check
