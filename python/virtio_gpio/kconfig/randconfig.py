"""Random configurations (like ``make randconfig``) and invariant checks.

Symbols are visited in definition order and each bool/tristate gets a
random value among those it can be assigned at that point, so every
configuration produced is one a user could have reached in menuconfig.
"""

import random

import kconfiglib

BOOLISH = (kconfiglib.BOOL, kconfiglib.TRISTATE)


def randomize(kconf, rng):
    """Give ``kconf`` a fresh random configuration."""
    kconf.unset_values()
    for sym in kconf.unique_defined_syms:
        if sym.orig_type in BOOLISH:
            choices = sym.assignable
            if choices:
                sym.set_value(rng.choice(choices))


def violations(kconf, name, at_least=(), must_be_y=()):
    """How ``name``'s value breaks the invariants asked for.

    ``at_least``: symbols whose value must be >= name's (for GPIO_VIRTIO:
    VIRTIO); ``must_be_y``: symbols that must be y whenever name is not n
    (GPIOLIB_IRQCHIP). Checked only when ``name`` is not n.
    """
    sym = kconf.syms[name]
    if sym.tri_value == 0:
        return []
    found = []
    for other in at_least:
        if kconf.syms[other].tri_value < sym.tri_value:
            found.append("%s=%s but %s=%s" % (name, sym.str_value, other,
                                              kconf.syms[other].str_value))
    for other in must_be_y:
        if kconf.syms[other].tri_value != 2:
            found.append("%s=%s but %s=%s" % (name, sym.str_value, other,
                                              kconf.syms[other].str_value))
    return found


def run(kconf, name, count, seed=0, at_least=(), must_be_y=()):
    """``count`` random configurations; returns (enabled_count, problems)."""
    rng = random.Random(seed)
    enabled, problems = 0, []
    for i in range(count):
        randomize(kconf, rng)
        if kconf.syms[name].tri_value:
            enabled += 1
        problems += ["config %d: %s" % (i, v) for v in
                     violations(kconf, name, at_least, must_be_y)]
    return enabled, problems
