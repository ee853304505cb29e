// SPDX-License-Identifier: GPL-2.0-or-later
/* Userspace host operations; see vgpio_uhost.h. */
#include <errno.h>
#include <string.h>

#include "vgpio_uhost.h"

static void uhost_cfg_get(void *ctx, unsigned int offset, void *buf,
			  unsigned int len)
{
	struct vgpio_uhost *h = ctx;
	unsigned int i;

	h->cfg_reads++;
	if (len > h->cfg_widest_read)
		h->cfg_widest_read = len;
	/*
	 * In the kernel a read past the transport's window is a BUG_ON
	 * (virtio-pci) or a stray MMIO access: counted, for the harness to
	 * fail on. Within the window, bytes past the device's config read as
	 * all ones, as QEMU serves them.
	 */
	if (offset + len < offset || offset + len > h->cfg_window)
		h->cfg_reads_past_window++;
	for (i = 0; i < len; i++)
		((unsigned char *)buf)[i] =
			offset + i < h->cfg_len ? h->cfg[offset + i] : 0xff;
	if (h->cfg_reads == h->cfg_change_at && h->cfg_next) {
		h->cfg = h->cfg_next;
		h->cfg_len = h->cfg_next_len;
		h->cfg_generation++;
	}
	if (h->cfg_always_changing)
		h->cfg_generation++;
}

static u32 uhost_cfg_generation(void *ctx)
{
	struct vgpio_uhost *h = ctx;

	return h->cfg_generation;
}

static int uhost_add_chain(void *ctx, unsigned int vq, void *out,
			   unsigned int out_len, void *in, unsigned int in_len,
			   void *token)
{
	struct vgpio_uhost *h = ctx;

	/* As a DMA-mapping transport: swiotlb takes a spinlock_t here. */
	vgpio_os_might_sleep_lock();
	if (vq >= VGPIO_MAX_VQS || !h->vq[vq])
		return -EINVAL;
	return simvq_add(h->vq[vq], out, out_len, in, in_len, token);
}

static void *uhost_get_buf(void *ctx, unsigned int vq, unsigned int *len)
{
	struct vgpio_uhost *h = ctx;

	/* Taking a buffer back unmaps it: the same spinlock_t. */
	vgpio_os_might_sleep_lock();
	return simvq_get_used(h->vq[vq], len);
}

static bool uhost_kick_prepare(void *ctx, unsigned int vq)
{
	struct vgpio_uhost *h = ctx;

	return simvq_kick_prepare(h->vq[vq]);
}

static void uhost_notify(void *ctx, unsigned int vq)
{
	struct vgpio_uhost *h = ctx;

	h->notify(h->handle, vq);
}

static int uhost_wait(void *ctx, struct vgpio_core *core, unsigned int line)
{
	struct vgpio_uhost *h = ctx;

	(void)core;
	return h->wait(h->handle, line);
}

static void uhost_wake(void *ctx, unsigned int line)
{
	struct vgpio_uhost *h = ctx;

	h->wake(h->handle, line);
}

static void uhost_irq(void *ctx, unsigned int line)
{
	struct vgpio_uhost *h = ctx;

	h->irq(h->handle, line);
}

static void uhost_rejected(void *ctx, int err, const char *why)
{
	struct vgpio_uhost *h = ctx;

	h->rejected(h->handle, err, why);
}

static unsigned int uhost_vq_size(void *ctx, unsigned int vq)
{
	struct vgpio_uhost *h = ctx;

	return vq < VGPIO_MAX_VQS && h->vq[vq] ? simvq_size(h->vq[vq]) : 0;
}

/* Under the irq descriptor's raw lock in the kernel: only note it. */
static void uhost_arm_later(void *ctx)
{
	struct vgpio_uhost *h = ctx;

	h->arm_pending++;
}

/* Under the core's lock in the kernel too: only note it. */
static void uhost_arm_retry(void *ctx)
{
	struct vgpio_uhost *h = ctx;

	h->arm_retries++;
}

const struct vgpio_host_ops vgpio_uhost_ops = {
	.cfg_get = uhost_cfg_get,
	.add_chain = uhost_add_chain,
	.get_buf = uhost_get_buf,
	.kick_prepare = uhost_kick_prepare,
	.notify = uhost_notify,
	.wait = uhost_wait,
	.wake = uhost_wake,
	.irq = uhost_irq,
	.rejected = uhost_rejected,
	.vq_size = uhost_vq_size,
	.cfg_generation = uhost_cfg_generation,
	.arm_later = uhost_arm_later,
	.arm_retry = uhost_arm_retry,
};
