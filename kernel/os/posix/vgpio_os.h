/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OS shim for the portable core, userspace side (in the style of Linux
 * tools/virtio): the kernel names the core uses, defined on top of libc.
 * Enough for vgpio_core.c, nothing more.
 */
#ifndef VGPIO_OS_H
#define VGPIO_OS_H

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef int32_t s32;
typedef uint16_t __le16;
typedef uint32_t __le32;

#define cpu_to_le16(x)			htole16(x)
#define cpu_to_le32(x)			htole32(x)
#define le16_to_cpu(x)			le16toh(x)
#define le32_to_cpu(x)			le32toh(x)

#define READ_ONCE(x)			(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, val)		(*(volatile __typeof__(x) *)&(x) = (val))

/*
 * lockdep's wait-context check, in small: the kernel calls the irq_chip's
 * enable/disable/mask/unmask/set_type under the irq descriptor's raw
 * spinlock, where the core's lock (a spinlock_t, sleeping on PREEMPT_RT)
 * and any virtqueue operation (mapping takes a spinlock_t) are invalid.
 * Tests mark such a section with vgpio_os_raw_enter()/_leave(); taking
 * the lock in it, or a queue operation of the simulated host, is counted
 * in vgpio_os_wait_context_errors.
 */
void vgpio_os_raw_enter(void);
void vgpio_os_raw_leave(void);
void vgpio_os_might_sleep_lock(void);
extern long vgpio_os_wait_context_errors;

struct vgpio_lock {
	pthread_mutex_t mutex;
};

#define vgpio_lock_init(l)		pthread_mutex_init(&(l)->mutex, NULL)
#define vgpio_lock_destroy(l)		pthread_mutex_destroy(&(l)->mutex)
#define vgpio_lock(l, flags)		((void)(flags), vgpio_os_might_sleep_lock(), \
					 pthread_mutex_lock(&(l)->mutex))
#define vgpio_unlock(l, flags)		((void)(flags), pthread_mutex_unlock(&(l)->mutex))

#define VGPIO_DMA_ALIGN			64
#define __aligned(x)			__attribute__((aligned(x)))

/*
 * Allocation goes through counters that tests steer: a live-allocation
 * count proves nothing leaks, and a countdown makes the Nth allocation
 * fail so every error path of probe can be driven (vgpio_os.c).
 */
void *vgpio_zalloc(size_t size);
void *vgpio_zalloc_array(size_t n, size_t size);
void vgpio_free(void *ptr);
extern long vgpio_os_live_allocs;
extern long vgpio_os_fail_after;

#endif /* VGPIO_OS_H */
