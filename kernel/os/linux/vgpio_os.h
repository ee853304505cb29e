/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OS shim for the portable core, kernel side: everything the core needs
 * maps straight onto the kernel's own helpers.
 */
#ifndef VGPIO_OS_H
#define VGPIO_OS_H

#include <linux/build_bug.h>
#include <linux/cache.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/types.h>
#include <asm/byteorder.h>

/*
 * The core's lock protects per-line state and the virtqueues. Virtqueue
 * operations map buffers, and with VIRTIO_F_ACCESS_PLATFORM (swiotlb,
 * SEV/TDX) mapping takes a spinlock_t: so the lock around them must be a
 * spinlock_t too, never a raw one. It is taken from process context and
 * from the virtqueue callbacks, never under the irq descriptor's raw
 * lock: the irq_chip callbacks that run there only record what is wanted
 * (vgpio_irq_mask() and friends).
 */
struct vgpio_lock {
	spinlock_t lock; /* see above: never a raw spinlock */
};

#define vgpio_lock_init(l)		spin_lock_init(&(l)->lock)
#define vgpio_lock_destroy(l)		do { } while (0)
#define vgpio_lock(l, flags)		spin_lock_irqsave(&(l)->lock, flags)
#define vgpio_unlock(l, flags)		spin_unlock_irqrestore(&(l)->lock, flags)

/*
 * Device-written buffers never share a cache line with anything else. On
 * non-coherent architectures the line DMA maintenance works on can be
 * larger than SMP_CACHE_BYTES (arm64: 128 bytes against 64): the larger of
 * the two, as newer upstream gpio-virtio.c has it (DMA groups).
 */
#define VGPIO_DMA_ALIGN		((ARCH_DMA_MINALIGN > SMP_CACHE_BYTES) ?	\
				 ARCH_DMA_MINALIGN : SMP_CACHE_BYTES)

/*
 * Only called at probe time, in process context, with no lock held.
 * vgpio_zalloc() memory may be handed to the device (it is physically
 * contiguous); vgpio_zalloc_array() memory, per-line bookkeeping that can
 * reach megabytes on a 65535-line device, never is. kvfree() frees both.
 */
#define vgpio_zalloc(size)		kzalloc(size, GFP_KERNEL)
#define vgpio_zalloc_array(n, size)	kvcalloc(n, size, GFP_KERNEL)
#define vgpio_free(ptr)			kvfree(ptr)

#endif /* VGPIO_OS_H */
