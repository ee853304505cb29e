/* SPDX-License-Identifier: GPL-2.0 */
/* The two UML os.h calls registers.c makes, printed by the harness. */
#ifndef FAKE_OS_H
#define FAKE_OS_H

#include <stdio.h>

#define os_warn(...) fprintf(stderr, __VA_ARGS__)
#define os_info(...) printf(__VA_ARGS__)

#endif
