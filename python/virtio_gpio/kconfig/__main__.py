"""python -m virtio_gpio.kconfig: the Kconfig lint (see cli.py)."""

import sys

from .cli import main

sys.exit(main())
