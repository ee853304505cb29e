// SPDX-License-Identifier: GPL-2.0-or-later
/* Userspace allocation and lock-context hooks for the core; see vgpio_os.h. */
#include <stdint.h>
#include <stdlib.h>

#include "vgpio_os.h"

long vgpio_os_live_allocs;
long vgpio_os_fail_after = -1;

void *vgpio_zalloc(size_t size)
{
	void *p;

	if (vgpio_os_fail_after == 0)
		return NULL;
	if (vgpio_os_fail_after > 0)
		vgpio_os_fail_after--;
	p = calloc(1, size ? size : 1);
	if (p)
		vgpio_os_live_allocs++;
	return p;
}

/* As kvcalloc(): NULL when n * size overflows. */
void *vgpio_zalloc_array(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return vgpio_zalloc(n * size);
}

void vgpio_free(void *ptr)
{
	if (ptr)
		vgpio_os_live_allocs--;
	free(ptr);
}

long vgpio_os_wait_context_errors;
static __thread int raw_depth;

void vgpio_os_raw_enter(void)
{
	raw_depth++;
}

void vgpio_os_raw_leave(void)
{
	raw_depth--;
}

void vgpio_os_might_sleep_lock(void)
{
	if (raw_depth)
		vgpio_os_wait_context_errors++;
}
