"""Waveforms: what happened on the lines, as a Value Change Dump.

The backend hands every change its device models report (see
:mod:`virtio_gpio.devices.events`) to a :class:`~virtio_gpio.trace.vcd.VcdRecorder`,
which writes a VCD file that GTKWave or PulseView opens;
``vgpio-trace`` (:mod:`virtio_gpio.trace.cli`) reads it back
(:mod:`virtio_gpio.trace.reader`) and draws a timing diagram
(:mod:`virtio_gpio.trace.render`).

The libraries come with the ``trace`` extra
(:mod:`virtio_gpio.trace.extra`), so that the core install stays light;
nothing here loads the compiled core.
"""
