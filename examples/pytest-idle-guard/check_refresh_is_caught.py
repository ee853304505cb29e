"""Fails on purpose: idle-refresh.sh drives the LED while it should be
idle, and the guard says so. Left out of a plain pytest run (pytest.ini
collects test_*.py only); run by name to see the failure:

    pytest check_refresh_is_caught.py
"""

import pathlib

REFRESH = (pathlib.Path(__file__).parent / "idle-refresh.sh").read_text()


def test_refreshing_the_led_is_caught(assert_idle):
    assert_idle(REFRESH)
