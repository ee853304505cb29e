/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A simulated virtqueue for the userspace build: finite, chains come back
 * only once the device marks them used, in the order it chooses, and a
 * device may only read a chain's driver-written part and only write its
 * device-writable part. Each entry is one chain of at most two buffers,
 * out then in, like virtqueue_add_sgs() with one sg each. The driver half
 * mirrors virtqueue_add_sgs() and virtqueue_get_buf(); the device half is
 * driven from Python or the benchmark's C loopback.
 */
#ifndef SIMVQ_H
#define SIMVQ_H

#include <stdbool.h>

struct simvq;

struct simvq *simvq_new(unsigned int num);
void simvq_free(struct simvq *q);
/* As a device offering VIRTIO_RING_F_INDIRECT_DESC; set before use. */
void simvq_set_indirect(struct simvq *q, bool indirect);
/*
 * The next @count adds find no memory for an indirect table (GFP_ATOMIC
 * failing) and, as virtio_ring does, fall back to one ring descriptor
 * per buffer.
 */
void simvq_fail_indirect(struct simvq *q, unsigned int count);

/* Driver side. */
int simvq_add(struct simvq *q, void *out, unsigned int out_len, void *in,
	      unsigned int in_len, void *token);
void *simvq_get_used(struct simvq *q, unsigned int *len);
bool simvq_kick_prepare(struct simvq *q);

/* Device side. */
int simvq_pop_avail(struct simvq *q);
int simvq_out_len(const struct simvq *q, unsigned int id);
int simvq_in_len(const struct simvq *q, unsigned int id);
int simvq_read(const struct simvq *q, unsigned int id, void *dst,
	       unsigned int len);
int simvq_write(struct simvq *q, unsigned int id, const void *src,
		unsigned int len);
int simvq_push_used(struct simvq *q, unsigned int id, unsigned int used_len);

/* Introspection for tests. */
unsigned int simvq_size(const struct simvq *q);
unsigned int simvq_num_free(const struct simvq *q);
unsigned int simvq_num_avail(const struct simvq *q);
unsigned int simvq_num_used(const struct simvq *q);
unsigned int simvq_num_kicks(const struct simvq *q);

#endif /* SIMVQ_H */
