/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Given with -include to the builds of Linux's gpio-virtio.c that the
 * upstream series' end-to-end run compares. With VIRTIO_F_ACCESS_PLATFORM
 * (confidential guests, restricted DMA) virtqueue_add_sgs() maps the
 * buffers, and swiotlb does that under a spinlock_t: invalid under a raw
 * spinlock on PREEMPT_RT. UML maps nothing, so lockdep never sees that
 * lock there; this takes one as swiotlb takes its area lock
 * (spin_lock_irqsave()) before every add, so that lockdep sees it.
 */
#include <linux/spinlock.h>
#include <linux/virtio.h>

static DEFINE_SPINLOCK(upstream_test_dma_map_lock);

static inline int upstream_test_add_sgs(struct virtqueue *vq,
					struct scatterlist *sgs[],
					unsigned int out_sgs,
					unsigned int in_sgs, void *data,
					gfp_t gfp)
{
	unsigned long flags;

	spin_lock_irqsave(&upstream_test_dma_map_lock, flags);
	spin_unlock_irqrestore(&upstream_test_dma_map_lock, flags);
	return virtqueue_add_sgs(vq, sgs, out_sgs, in_sgs, data, gfp);
}

#define virtqueue_add_sgs upstream_test_add_sgs
