"""A test bench of simulated GPIO devices, described in one TOML file.

``vgpio-vhost-user --config FILE`` serves every device the file lists
from one process: their lines, the input generators that drive them
(pulses, square waves, scripted sequences) and the wires that make one
line's output another line's input, across devices too.

One module per concern: ``schema`` (every table and key of the file, with
its type, default and meaning: the validation and the documentation's
reference both come from it), ``load`` (reading and checking a file into
a plain :class:`~virtio_gpio.testbench.load.Bench`), ``stimuli`` (the
input generators, run by a :class:`~virtio_gpio.vhost_user.server.Server`'s
timers), ``wiring`` (the wires, as a server event hook) and
``saved_state`` (the lines' state kept across restarts, ``--state``).
Plain Python: nothing here needs the compiled core.
"""
