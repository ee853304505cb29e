/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The project's version, written here only: MODULE_VERSION, dkms.conf,
 * setup.py (and so the Python package's metadata) and the documentation
 * read it from this line.
 */
#ifndef VGPIO_VERSION_H
#define VGPIO_VERSION_H

#define VGPIO_VERSION "0.1.0"

#endif /* VGPIO_VERSION_H */
