"""Wire formats of the two virtio GPIO protocols, in plain Python.

``id30`` is the 2020 proposal (device ID 30), ``standard`` the virtio 1.2
GPIO device (device ID 41). Both are written from their specifications,
not read from the driver's headers, so that the device side (models,
vhost-user backend) imports no compiled code and a wrong value in a
header fails a test instead of agreeing with itself:
``tests/unit/test_wire_drift.py`` holds the two to each other.
"""
