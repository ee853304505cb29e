"""python -m virtio_gpio.conformance: the same as vgpio-conform."""

import sys

from .cli import main

sys.exit(main())
