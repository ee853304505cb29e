"""``python -m virtio_gpio.vhost_user``: the vgpio-vhost-user backend."""

import sys

from .cli import main

sys.exit(main())
