"""The conformance kit: a device checker for vhost-user GPIO backends.

``vgpio-conform device`` (:mod:`.cli`) connects to a backend as a guest's
front end would (:mod:`.frontend`), runs :mod:`.device_checker` against
the requirements of :mod:`.requirements`, and reports each as pass, fail
or not applicable (:mod:`.results`). Standard library only: it checks a
backend on a machine where the compiled driver core is not installed.
"""
