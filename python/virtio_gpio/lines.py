"""What a GPIO line is to the driver core's user, protocol-neutral: its
direction, the triggers it can watch, the operations gpiolib asks for.

Plain values (gpiolib's own where it has them), so that they import
without the compiled core; ``tests/unit/test_wire_drift.py`` holds them to
``kernel/vgpio_core.h``.
"""

import enum


class Direction(enum.IntEnum):
    """A line's direction, as gpiolib's GPIO_LINE_DIRECTION_* says it."""

    OUT = 0
    IN = 1


class Edge(enum.IntEnum):
    """Which line changes raise an event (level triggers: standard only)."""

    NONE = 0
    RISING = 1
    FALLING = 2
    BOTH = 3
    LEVEL_HIGH = 4
    LEVEL_LOW = 8


class Op(enum.IntEnum):
    """GPIO operations of the core, the same for both protocols."""

    REQUEST = 1
    DIRECTION_INPUT = 2
    DIRECTION_OUTPUT = 3
    GET_DIRECTION = 4
    GET_VALUE = 5
    SET_VALUE = 6
    FREE = 7
