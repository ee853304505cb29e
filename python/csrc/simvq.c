// SPDX-License-Identifier: GPL-2.0-or-later
/* Simulated virtqueue; see simvq.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "simvq.h"

enum simvq_state { SIMVQ_FREE, SIMVQ_AVAIL, SIMVQ_DEVICE, SIMVQ_USED };

struct simvq_desc {
	void *out;
	unsigned int out_len;
	void *in;
	unsigned int in_len;
	void *token;
	unsigned int ndesc;	/* ring descriptors the chain takes */
	enum simvq_state state;
};

struct simvq_used {
	unsigned int id;
	unsigned int len;
};

/* Two FIFOs of ring size: avail (driver -> device) and used (back). */
struct simvq {
	unsigned int num;
	struct simvq_desc *desc;
	unsigned int *avail;
	unsigned int avail_head, avail_count;
	struct simvq_used *used;
	unsigned int used_head, used_count;
	unsigned int free_count;	/* descriptors, as a split ring counts */
	unsigned int kicks;
	bool indirect;		/* a chain takes one descriptor */
	unsigned int indirect_failures;	/* adds left without a table */
	/*
	 * As virtio_ring's BAD_RING(): a device that returned a descriptor
	 * it did not hold breaks the queue; nothing is added or taken back
	 * after that.
	 */
	bool broken;
};

struct simvq *simvq_new(unsigned int num)
{
	struct simvq *q;

	if (!num || num > 32768)
		return NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->num = num;
	q->free_count = num;
	q->desc = calloc(num, sizeof(*q->desc));
	q->avail = calloc(num, sizeof(*q->avail));
	q->used = calloc(num, sizeof(*q->used));
	if (!q->desc || !q->avail || !q->used) {
		simvq_free(q);
		return NULL;
	}
	return q;
}

void simvq_free(struct simvq *q)
{
	if (!q)
		return;
	free(q->desc);
	free(q->avail);
	free(q->used);
	free(q);
}

int simvq_add(struct simvq *q, void *out, unsigned int out_len, void *in,
	      unsigned int in_len, void *token)
{
	unsigned int id, ndesc;

	/* As virtqueue_add_sgs(): a chain has a buffer and a token. */
	if (q->broken)
		return -EIO;
	if ((!out || !out_len) && (!in || !in_len))
		return -EINVAL;
	if (!token)
		return -EINVAL;
	/*
	 * With indirect descriptors a chain takes one ring descriptor (its
	 * table is elsewhere); without, every buffer takes one of its own.
	 */
	ndesc = (out && out_len) + (in && in_len);
	if (q->indirect && ndesc > 1 && q->indirect_failures)
		q->indirect_failures--;	/* only a chain of two needs a table */
	else if (q->indirect)
		ndesc = 1;
	if (q->free_count < ndesc)
		return -ENOSPC;
	for (id = 0; q->desc[id].state != SIMVQ_FREE; id++)
		;
	q->desc[id] = (struct simvq_desc){
		.out = out, .out_len = out ? out_len : 0,
		.in = in, .in_len = in ? in_len : 0,
		.token = token, .ndesc = ndesc, .state = SIMVQ_AVAIL,
	};
	q->free_count -= ndesc;
	q->avail[(q->avail_head + q->avail_count++) % q->num] = id;
	return 0;
}

void *simvq_get_used(struct simvq *q, unsigned int *len)
{
	struct simvq_used u;

	if (q->broken || !q->used_count)
		return NULL;
	u = q->used[q->used_head];
	q->used_head = (q->used_head + 1) % q->num;
	q->used_count--;
	q->desc[u.id].state = SIMVQ_FREE;
	q->free_count += q->desc[u.id].ndesc;
	*len = u.len;
	return q->desc[u.id].token;
}

bool simvq_kick_prepare(struct simvq *q)
{
	q->kicks++;
	return true;
}

int simvq_pop_avail(struct simvq *q)
{
	unsigned int id;

	if (!q->avail_count)
		return -ENOENT;
	id = q->avail[q->avail_head];
	q->avail_head = (q->avail_head + 1) % q->num;
	q->avail_count--;
	q->desc[id].state = SIMVQ_DEVICE;
	return id;
}

static const struct simvq_desc *simvq_held(const struct simvq *q,
					   unsigned int id)
{
	if (id >= q->num || q->desc[id].state != SIMVQ_DEVICE)
		return NULL;
	return &q->desc[id];
}

int simvq_out_len(const struct simvq *q, unsigned int id)
{
	const struct simvq_desc *d = simvq_held(q, id);

	return d ? (int)d->out_len : -EINVAL;
}

int simvq_in_len(const struct simvq *q, unsigned int id)
{
	const struct simvq_desc *d = simvq_held(q, id);

	return d ? (int)d->in_len : -EINVAL;
}

int simvq_read(const struct simvq *q, unsigned int id, void *dst,
	       unsigned int len)
{
	const struct simvq_desc *d = simvq_held(q, id);

	if (!d)
		return -EINVAL;
	if (!d->out_len)
		return -EPERM;
	if (len > d->out_len)
		len = d->out_len;
	memcpy(dst, d->out, len);
	return len;
}

int simvq_write(struct simvq *q, unsigned int id, const void *src,
		unsigned int len)
{
	const struct simvq_desc *d = simvq_held(q, id);

	if (!d)
		return -EINVAL;
	if (!d->in_len)
		return -EPERM;
	if (len > d->in_len)
		len = d->in_len;
	memcpy(d->in, src, len);
	return len;
}

int simvq_push_used(struct simvq *q, unsigned int id, unsigned int used_len)
{
	if (!simvq_held(q, id)) {
		/* Checked here, not at get_used: ids are kept, not buffers. */
		q->broken = true;
		return -EINVAL;
	}
	q->desc[id].state = SIMVQ_USED;
	q->used[(q->used_head + q->used_count++) % q->num] =
		(struct simvq_used){ id, used_len };
	return 0;
}

void simvq_set_indirect(struct simvq *q, bool indirect)
{
	q->indirect = indirect;
}

void simvq_fail_indirect(struct simvq *q, unsigned int count)
{
	q->indirect_failures = count;
}

unsigned int simvq_size(const struct simvq *q)
{
	return q->num;
}

unsigned int simvq_num_free(const struct simvq *q)
{
	return q->free_count;
}

unsigned int simvq_num_avail(const struct simvq *q)
{
	return q->avail_count;
}

unsigned int simvq_num_used(const struct simvq *q)
{
	return q->used_count;
}

unsigned int simvq_num_kicks(const struct simvq *q)
{
	return q->kicks;
}
