// SPDX-License-Identifier: GPL-2.0-or-later
/* The fake host of the fuzz harnesses; see fuzz_host.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_host.h"

void fuzz_fail(const char *file, int line, const char *cond,
	       const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\nFUZZ INVARIANT BROKEN at %s:%d: %s\n  ", file, line,
		cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

uint8_t fuzz_u8(struct fuzz_input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->data++;
}

uint16_t fuzz_u16(struct fuzz_input *in)
{
	uint16_t lo = fuzz_u8(in);

	return lo | (uint16_t)fuzz_u8(in) << 8;
}

uint32_t fuzz_u32(struct fuzz_input *in)
{
	uint32_t lo = fuzz_u16(in);

	return lo | (uint32_t)fuzz_u16(in) << 16;
}

bool fuzz_empty(const struct fuzz_input *in)
{
	return !in->left;
}

/* ------------------------------------------------------------------ */
/* The core lock, as the contract in vgpio_core.h states it            */

static bool fuzz_core_locked(struct fuzz_host *h)
{
	if (!h->core)
		return false;
	if (pthread_mutex_trylock(&h->core->lock.mutex))
		return true;
	pthread_mutex_unlock(&h->core->lock.mutex);
	return false;
}

#define FUZZ_LOCKED(h, op)						\
	FUZZ_CHECK(fuzz_core_locked(h), "%s called without the core lock", op)
#define FUZZ_UNLOCKED(h, op)						\
	FUZZ_CHECK(!fuzz_core_locked(h), "%s called with the core lock held", op)

/* ------------------------------------------------------------------ */
/* Virtqueues                                                           */

void fuzz_vq_init(struct fuzz_vq *q, unsigned int num)
{
	memset(q, 0, sizeof(*q));
	q->num = num;
	q->free = num;
}

static unsigned int fuzz_chain_descs(const struct fuzz_chain *c)
{
	return (c->out ? 1 : 0) + (c->in ? 1 : 0);
}

bool fuzz_vq_holds(const struct fuzz_vq *q, const void *token)
{
	unsigned int i;

	for (i = 0; i < q->nchains; i++)
		if (q->chains[i].token == token)
			return true;
	return false;
}

unsigned int fuzz_vq_count(const struct fuzz_vq *q)
{
	return q->nchains;
}

/* The @pick-th chain the device holds and has not returned yet, or NULL. */
struct fuzz_chain *fuzz_vq_pending(struct fuzz_vq *q, unsigned int pick)
{
	unsigned int i, n = 0;

	for (i = 0; i < q->nchains; i++)
		if (!q->chains[i].used)
			n++;
	if (!n)
		return NULL;
	pick %= n;
	for (i = 0; i < q->nchains; i++) {
		if (q->chains[i].used)
			continue;
		if (!pick--)
			return &q->chains[i];
	}
	return NULL;
}

/* The device reads the driver-written part: it must be what was posted. */
void fuzz_vq_read_out(struct fuzz_chain *c, void *dst, unsigned int len)
{
	unsigned int n = c->out_len < FUZZ_SNAP_MAX ? c->out_len :
						      FUZZ_SNAP_MAX;

	FUZZ_CHECK(!memcmp(c->out, c->snap, n),
		   "driver changed a buffer while the device held it");
	memset(dst, 0, len);
	memcpy(dst, c->out, len < c->out_len ? len : c->out_len);
}

void fuzz_vq_push_used(struct fuzz_vq *q, struct fuzz_chain *c, uint32_t len)
{
	c->used = true;
	c->used_len = len;
	q->used_order[q->nused++] = c->token;
}

/* The device uses a descriptor that is not in flight: BAD_RING(). */
void fuzz_vq_bad_used(struct fuzz_vq *q)
{
	q->broken = true;
}

/* Device reset: the device lets go of every buffer, nothing comes back. */
void fuzz_vq_reset(struct fuzz_vq *q)
{
	fuzz_vq_init(q, q->num);
}

uint32_t fuzz_used_len(struct fuzz_input *in, unsigned int in_len)
{
	switch (fuzz_u8(in) & 7) {
	case 1:
		return 0;
	case 2:
		return in_len - 1;	/* 0xffffffff for in_len 0 */
	case 3:
		return in_len + 1;
	case 4:
		return UINT32_MAX;
	case 5:
		return 0x80000000u;
	case 6:
		return fuzz_u32(in);
	default:
		return in_len;
	}
}

static bool fuzz_overlap(const void *a, unsigned int alen, const void *b,
			 unsigned int blen)
{
	uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;

	if (!a || !b || !alen || !blen)
		return false;
	return pa < pb + blen && pb < pa + alen;
}

/*
 * DMA safety: what the device may write must not be any other chain's
 * buffer, in any queue, and what it reads must not be written meanwhile.
 */
static void fuzz_check_disjoint(struct fuzz_host *h, const void *out,
				unsigned int out_len, const void *in,
				unsigned int in_len)
{
	unsigned int v, i;

	for (v = 0; v < VGPIO_MAX_VQS; v++) {
		for (i = 0; i < h->vq[v].nchains; i++) {
			const struct fuzz_chain *c = &h->vq[v].chains[i];

			FUZZ_CHECK(!fuzz_overlap(in, in_len, c->in, c->in_len) &&
				   !fuzz_overlap(in, in_len, c->out, c->out_len) &&
				   !fuzz_overlap(out, out_len, c->in, c->in_len),
				   "new chain on vq %u shares memory with a chain the device holds on vq %u",
				   v, v);
		}
	}
	FUZZ_CHECK(!fuzz_overlap(in, in_len, out, out_len),
		   "a chain's device-writable part overlaps its own request");
}

/* ------------------------------------------------------------------ */
/* struct vgpio_host_ops                                                */

static void fuzz_cfg_get(void *ctx, unsigned int offset, void *buf,
			 unsigned int len)
{
	struct fuzz_host *h = ctx;
	unsigned int i;

	FUZZ_CHECK(len == 1 || len == 2 || len == 4,
		   "config read of %u bytes is not one field", len);
	FUZZ_CHECK(offset % len == 0, "misaligned config read at %u", offset);
	/*
	 * virtio-pci BUG()s past the window it maps. A transport that tells
	 * no size still serves VGPIO_CFG_WINDOW bytes (all ones past the
	 * device's config, as QEMU does), so the core may read that far.
	 */
	FUZZ_CHECK(offset + len <= h->cfg_window ||
		   (!h->cfg_told && offset + len <= VGPIO_CFG_WINDOW),
		   "config read at %u+%u past a window of %u bytes (told: %d)",
		   offset, len, h->cfg_window, h->cfg_told);
	/* Past the device's config: all ones. */
	for (i = 0; i < len; i++)
		((uint8_t *)buf)[i] = offset + i < h->cfg_window ?
				      h->cfg[offset + i] : 0xff;
}

static int fuzz_add_chain(void *ctx, unsigned int vq, void *out,
			  unsigned int out_len, void *in, unsigned int in_len,
			  void *token)
{
	struct fuzz_host *h = ctx;
	struct fuzz_vq *q;
	struct fuzz_chain *c;
	unsigned int v, need;

	FUZZ_LOCKED(h, "add_chain");
	FUZZ_CHECK(vq < vgpio_core_num_vqs(h->core), "add to queue %u", vq);
	FUZZ_CHECK(token, "chain without a token");
	FUZZ_CHECK(!out == !out_len && !in == !in_len,
		   "buffer and length disagree (%p/%u, %p/%u)", out, out_len,
		   in, in_len);
	FUZZ_CHECK(out || in, "empty chain");
	for (v = 0; v < VGPIO_MAX_VQS; v++)
		FUZZ_CHECK(!fuzz_vq_holds(&h->vq[v], token),
			   "token %p posted while the device holds it (vq %u)",
			   token, v);
	fuzz_check_disjoint(h, out, out_len, in, in_len);

	q = &h->vq[vq];
	if (q->broken)
		return -EIO;
	need = (out ? 1 : 0) + (in ? 1 : 0);
	if (q->free < need)
		return -ENOSPC;
	q->free -= need;
	c = &q->chains[q->nchains++];
	*c = (struct fuzz_chain){
		.token = token, .out = out, .out_len = out_len,
		.in = in, .in_len = in_len,
	};
	if (out)
		memcpy(c->snap, out, out_len < FUZZ_SNAP_MAX ? out_len :
							      FUZZ_SNAP_MAX);
	return 0;
}

static void *fuzz_get_buf(void *ctx, unsigned int vq, unsigned int *len)
{
	struct fuzz_host *h = ctx;
	struct fuzz_vq *q;
	unsigned int i;
	void *token;

	FUZZ_LOCKED(h, "get_buf");
	FUZZ_CHECK(vq < vgpio_core_num_vqs(h->core), "get_buf on queue %u", vq);
	q = &h->vq[vq];
	if (q->broken || !q->nused)
		return NULL;
	token = q->used_order[0];
	memmove(q->used_order, q->used_order + 1,
		--q->nused * sizeof(q->used_order[0]));
	for (i = 0; q->chains[i].token != token; i++)
		;
	*len = q->chains[i].used_len;
	q->free += fuzz_chain_descs(&q->chains[i]);
	memmove(&q->chains[i], &q->chains[i + 1],
		(--q->nchains - i) * sizeof(q->chains[0]));
	return token;
}

static bool fuzz_kick_prepare(void *ctx, unsigned int vq)
{
	struct fuzz_host *h = ctx;

	FUZZ_LOCKED(h, "kick_prepare");
	FUZZ_CHECK(vq < vgpio_core_num_vqs(h->core), "kick queue %u", vq);
	return true;
}

static void fuzz_notify(void *ctx, unsigned int vq)
{
	struct fuzz_host *h = ctx;

	FUZZ_UNLOCKED(h, "notify");
	FUZZ_CHECK(vq < vgpio_core_num_vqs(h->core), "notify queue %u", vq);
}

static int fuzz_wait(void *ctx, struct vgpio_core *core, unsigned int line)
{
	struct fuzz_host *h = ctx;

	FUZZ_UNLOCKED(h, "wait");
	FUZZ_CHECK(core == h->core, "wait for another core");
	FUZZ_CHECK(line < vgpio_core_ngpio(core), "wait on line %u", line);
	FUZZ_CHECK(h->in_call[line], "wait on line %u nobody called for",
		   line);
	return h->wait(h, line);
}

static void fuzz_wake(void *ctx, unsigned int line)
{
	struct fuzz_host *h = ctx;

	FUZZ_UNLOCKED(h, "wake");
	FUZZ_CHECK(line < vgpio_core_ngpio(h->core), "wake line %u", line);
	h->wakes++;
}

/*
 * An interrupt for a line the kernel enabled and left unmasked, never
 * after kill. A level-capable chip runs handle_level_irq: the line is
 * masked around the handler and unmasked after it.
 */
static void fuzz_irq(void *ctx, unsigned int line)
{
	struct fuzz_host *h = ctx;

	FUZZ_UNLOCKED(h, "irq");
	FUZZ_CHECK(line < vgpio_core_ngpio(h->core), "irq on line %u", line);
	FUZZ_CHECK(!h->killed, "irq on line %u after kill", line);
	FUZZ_CHECK(h->irq_enabled[line] && !h->irq_masked[line],
		   "irq on line %u that is %s", line,
		   h->irq_enabled[line] ? "masked" : "disabled");
	h->irqs++;
#ifdef FUZZ_PLANTED_BUG
	/* The gate's own test: a heap overflow only a fired line 1 reaches. */
	if (line == 1) {
		volatile char *p = malloc(1);

		p[1] = 1;
		free((void *)p);
	}
#endif
	if (!h->irq_mask_in_handler)
		return;
	FUZZ_CHECK(!vgpio_irq_mask(h->core, line, true), "mask in handler");
	h->irq_masked[line] = true;
	FUZZ_CHECK(!vgpio_irq_mask(h->core, line, false), "unmask in handler");
	h->irq_masked[line] = false;
}

static void fuzz_rejected(void *ctx, int err, const char *why)
{
	struct fuzz_host *h = ctx;

	FUZZ_UNLOCKED(h, "rejected");
	FUZZ_CHECK(err < 0 && err >= -FUZZ_MAX_ERRNO, "rejected with %d", err);
	FUZZ_CHECK(why && *why, "rejected without a reason");
	h->rejections++;
}

/* As a work item: noted here, run before the next queue callback. */
static void fuzz_arm_later(void *ctx)
{
	struct fuzz_host *h = ctx;

	h->arm_pending = true;
}

/* As a delayed work item, under the core's lock: the same. */
static void fuzz_arm_retry(void *ctx)
{
	struct fuzz_host *h = ctx;

	FUZZ_LOCKED(h, "arm_retry");
	h->arm_pending = true;
}

static unsigned int fuzz_vq_size(void *ctx, unsigned int vq)
{
	struct fuzz_host *h = ctx;

	FUZZ_CHECK(vq < VGPIO_MAX_VQS, "size of queue %u", vq);
	return h->vq[vq].num;
}

const struct vgpio_host_ops fuzz_host_ops = {
	.cfg_get	= fuzz_cfg_get,
	.add_chain	= fuzz_add_chain,
	.get_buf	= fuzz_get_buf,
	.kick_prepare	= fuzz_kick_prepare,
	.notify		= fuzz_notify,
	.wait		= fuzz_wait,
	.wake		= fuzz_wake,
	.irq		= fuzz_irq,
	.rejected	= fuzz_rejected,
	.vq_size	= fuzz_vq_size,
	.arm_later	= fuzz_arm_later,
	.arm_retry	= fuzz_arm_retry,
};

void fuzz_host_init(struct fuzz_host *h, const uint8_t *data, size_t size)
{
	memset(h, 0, sizeof(*h));
	h->in.data = data;
	h->in.left = size;
	FUZZ_CHECK(vgpio_os_live_allocs == 0,
		   "%ld allocations live before the run", vgpio_os_live_allocs);
	vgpio_os_fail_after = -1;
}

/* ------------------------------------------------------------------ */
/* White-box invariants                                                 */

/*
 * The core's idea of which buffers the device holds is exactly what the
 * queues hold: a slot the core thinks free while the device has it is a
 * DMA use-after-free in the making; one it thinks busy that the device
 * gave back is lost for good.
 */
/* Per element of @base, whether the queue holds it; every chain is one. */
static void fuzz_held(const struct fuzz_vq *q, const void *base,
		      unsigned int stride, unsigned int n, bool *held)
{
	unsigned int i;
	int idx;

	memset(held, 0, n * sizeof(*held));
	for (i = 0; i < q->nchains; i++) {
		idx = vgpio_token_index(base, stride, n, q->chains[i].token);
		if (idx >= 0)
			held[idx] = true;
	}
}

void fuzz_check_core(struct fuzz_host *h)
{
	struct vgpio_core *core = h->core;
	/* Request slots or eventq buffers: at most one per 16-bit line. */
	static bool held[VGPIO_STD_MAX_LINES + 1];
	unsigned int i;

	FUZZ_CHECK(!fuzz_core_locked(h), "core lock left held");
	FUZZ_CHECK(core->users == h->users, "core counts %u users, %u inside",
		   core->users, h->users);
	fuzz_held(&h->vq[core->proto->req_vq], core->tx, sizeof(*core->tx),
		  core->ntx, held);
	for (i = 0; i < core->ntx; i++)
		FUZZ_CHECK(core->tx_state[i].busy == held[i],
			   "request slot %u: core says %s, the queue %s", i,
			   core->tx_state[i].busy ? "busy" : "free",
			   held[i] ? "holds it" : "does not hold it");
	if (core->protocol == VGPIO_PROTOCOL_ID30) {
		struct fuzz_vq *rx = &h->vq[VGPIO_ID30_VQ_RX];

		FUZZ_CHECK(core->rx_posted == fuzz_vq_count(rx),
			   "core counts %u receive buffers posted, the queue holds %u",
			   core->rx_posted, fuzz_vq_count(rx));
	}
	if (core->irq_slots)
		fuzz_held(&h->vq[VGPIO_STD_VQ_EVENT], core->irq_slots,
			  sizeof(*core->irq_slots), core->irq_lines, held);
	for (i = 0; i < core->ngpio; i++) {
		const struct vgpio_line *l = &core->lines[i];

		FUZZ_CHECK(!l->live || h->in_call[i],
			   "line %u has a live request and no caller", i);
		FUZZ_CHECK(l->level >= -1 && l->level <= 1, "line %u level %d",
			   i, l->level);
		FUZZ_CHECK(!l->irq_queued || i < core->irq_lines,
			   "line %u past the eventq's room has a buffer", i);
		if (core->irq_slots && i < core->irq_lines)
			FUZZ_CHECK(l->irq_queued == held[i],
				   "line %u: eventq buffer %s by the core, %s by the queue",
				   i, l->irq_queued ? "queued" : "not queued",
				   held[i] ? "held" : "not held");
	}
}

/*
 * vgpio_drv_remove(): kill, wait until no caller is left, reset the
 * device (it drops every buffer), free. Then nothing may be left.
 */
void fuzz_teardown(struct fuzz_host *h)
{
	unsigned int v;

	if (!h->killed) {
		vgpio_core_kill(h->core);
		h->killed = true;
	}
	FUZZ_CHECK(vgpio_core_idle(h->core), "callers left after the last returned");
#ifdef FUZZ_VERBOSE
	/* To see what a seed does: make_corpus.py's intent, checked by eye. */
	{
		const struct vgpio_stats *st = vgpio_core_stats(h->core);

		fprintf(stderr,
			"run: replies %u late %u events %u irqs %u/%lu timeouts %u resyncs %u bad len %u type %u line %u value %u unexpected %u token %u repost failed %u invalid %u rejected %lu\n",
			st->replies, st->late_replies, st->events, st->irqs,
			h->irqs, st->timeouts, st->resyncs, st->bad_len,
			st->bad_type, st->bad_line, st->bad_value,
			st->unexpected, st->bad_token, st->rx_repost_failed,
			st->irq_invalid, h->rejections);
	}
#endif
	for (v = 0; v < VGPIO_MAX_VQS; v++)
		fuzz_vq_reset(&h->vq[v]);
	vgpio_core_destroy(h->core);
	h->core = NULL;
	FUZZ_CHECK(vgpio_os_live_allocs == 0, "%ld allocations leaked",
		   vgpio_os_live_allocs);
}
