/* SPDX-License-Identifier: GPL-2.0 */
/* Shadows the compiler's <cpuid.h>: CPUID answers come from the host model. */
#ifndef FAKE_CPUID_H
#define FAKE_CPUID_H

void fake_cpuid(unsigned int leaf, unsigned int sub, unsigned int *eax,
		unsigned int *ebx, unsigned int *ecx, unsigned int *edx);
#define __cpuid_count(leaf, sub, a, b, c, d) \
	fake_cpuid(leaf, sub, &(a), &(b), &(c), &(d))

#endif
