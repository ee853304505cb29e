/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OS shim for the portable core, kernel side: everything the core needs
 * maps straight onto the kernel's own helpers.
 */
#ifndef VGPIO_OS_H
#define VGPIO_OS_H

#include <linux/build_bug.h>
#include <linux/cache.h>
#include <linux/errno.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/types.h>
#include <asm/byteorder.h>

/*
 * The core's lock protects per-line state and the virtqueues. It is taken
 * from the virtqueue callbacks (hard-irq context) and from irq_chip
 * callbacks, which run under the irq descriptor's raw spinlock; hence a
 * raw spinlock. Its sections are short and never allocate: a one-entry
 * scatterlist never needs an indirect descriptor table.
 */
struct vgpio_lock {
	raw_spinlock_t raw;
};

#define vgpio_lock_init(l)		raw_spin_lock_init(&(l)->raw)
#define vgpio_lock_destroy(l)		do { } while (0)
#define vgpio_lock(l, flags)		raw_spin_lock_irqsave(&(l)->raw, flags)
#define vgpio_unlock(l, flags)		raw_spin_unlock_irqrestore(&(l)->raw, flags)

/*
 * Device-written buffers never share a cache line with anything else. On
 * non-coherent architectures the line DMA maintenance works on can be
 * larger than SMP_CACHE_BYTES (arm64: 128 bytes against 64): the larger of
 * the two, as newer upstream gpio-virtio.c has it (DMA groups).
 */
#define VGPIO_DMA_ALIGN		((ARCH_DMA_MINALIGN > SMP_CACHE_BYTES) ?	\
				 ARCH_DMA_MINALIGN : SMP_CACHE_BYTES)

/* Only called at probe time, in process context, with no lock held. */
#define vgpio_zalloc(size)		kzalloc(size, GFP_KERNEL)
#define vgpio_free(ptr)			kfree(ptr)

#endif /* VGPIO_OS_H */
