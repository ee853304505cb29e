/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fake host shared by the libFuzzer harnesses of the portable core.
 *
 * It models what the kernel presents to the core, not what is convenient:
 *  - a config window of a fixed size, read field by field (virtio-pci's
 *    vp_get() BUG()s on a read past the window);
 *  - split virtqueues of a fixed number of descriptors, without indirect
 *    tables (vgpio_drv_validate() turns them off), so a chain of two
 *    buffers takes two slots;
 *  - virtqueue_get_buf() returns only chains the driver added and has not
 *    taken back, but with whatever used length the device wrote (any u32);
 *  - a device that uses a descriptor that is not in flight (never posted,
 *    or already returned) breaks the queue, as virtio_ring's BAD_RING()
 *    does: from then on get_buf returns NULL and add returns -EIO.
 *
 * Every host operation also checks the core's side of the contract: the
 * core lock held or not as vgpio_core.h says, no buffer posted twice, no
 * device-writable buffer shared between chains, and the driver-written
 * part of a chain unchanged while the device holds it.
 */
#ifndef FUZZ_HOST_H
#define FUZZ_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "vgpio_core_priv.h"

/* Most negative errno the core may report, of either protocol. */
#define FUZZ_MAX_ERRNO	4095	/* the kernel's MAX_ERRNO */

/* A broken invariant is a finding: print it and abort, so libFuzzer stops. */
#define FUZZ_CHECK(cond, ...)						\
	do {								\
		if (!(cond))						\
			fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); \
	} while (0)

void fuzz_fail(const char *file, int line, const char *cond,
	       const char *fmt, ...)
	__attribute__((noreturn, format(printf, 4, 5)));

/* The fuzz input, consumed front to back; reads past its end give zero. */
struct fuzz_input {
	const uint8_t *data;
	size_t left;
};

uint8_t fuzz_u8(struct fuzz_input *in);
uint16_t fuzz_u16(struct fuzz_input *in);
uint32_t fuzz_u32(struct fuzz_input *in);
bool fuzz_empty(const struct fuzz_input *in);

/* Longest chain part the model snapshots (the 8-byte request is all). */
#define FUZZ_SNAP_MAX	16

/* Most chains one queue holds: the largest ring the harnesses build. */
#define FUZZ_RING_MAX	256

/**
 * struct fuzz_chain - one chain added by the driver, not yet taken back
 * @token: what get_buf returns for it
 * @out: driver-written part (NULL if none), @out_len its length
 * @in: device-writable part (NULL if none), @in_len its length
 * @used: the device has returned it; waiting for get_buf
 * @used_len: the length the device claimed
 * @snap: @out as it was when added
 */
struct fuzz_chain {
	void *token;
	void *out;
	unsigned int out_len;
	void *in;
	unsigned int in_len;
	bool used;
	uint32_t used_len;
	uint8_t snap[FUZZ_SNAP_MAX];
};

/**
 * struct fuzz_vq - one split virtqueue
 * @num: descriptors in the ring
 * @free: descriptors not in use
 * @chains: in flight, in the order they were added
 * @nchains: how many
 * @used_order: tokens of the used chains, in the order the device used them
 * @nused: how many used chains wait for get_buf
 * @broken: BAD_RING() happened
 */
struct fuzz_vq {
	unsigned int num;
	unsigned int free;
	struct fuzz_chain chains[FUZZ_RING_MAX];
	unsigned int nchains;
	void *used_order[FUZZ_RING_MAX];
	unsigned int nused;
	bool broken;
};

struct fuzz_host;

/* Called by the host's wait op: the harness plays the device meanwhile. */
typedef int (*fuzz_wait_fn)(struct fuzz_host *h, unsigned int line);

/**
 * struct fuzz_host - the fake kernel around one core
 * @in: the fuzz input
 * @core: the core, once probed
 * @cfg: config window contents, @cfg_window its size
 * @cfg_told: the core was told @cfg_window (info.cfg_size)
 * @vq: the queues
 * @wait: the harness's device loop
 * @in_call: per line, a caller is inside the core on that line
 * @users: callers inside vgpio_request()/vgpio_irq_sync()
 * @irq_enabled: per line, what the harness told the core
 * @irq_masked: likewise
 * @killed: vgpio_core_kill() ran
 * @irq_mask_in_handler: irq() models handle_level_irq (mask, unmask)
 * @irqs: irq() calls
 * @wakes: wake() calls
 * @rejections: rejected() calls
 */
/* Lines a fuzzed device may declare: ngpio's 16 bits (ID 30 stops at 256). */
#define FUZZ_MAX_LINES	VGPIO_STD_MAX_LINES

struct fuzz_host {
	struct fuzz_input in;
	struct vgpio_core *core;
	const uint8_t *cfg;
	unsigned int cfg_window;
	bool cfg_told;
	struct fuzz_vq vq[VGPIO_MAX_VQS];
	fuzz_wait_fn wait;
	bool in_call[FUZZ_MAX_LINES];
	unsigned int users;
	bool irq_enabled[FUZZ_MAX_LINES];
	bool irq_masked[FUZZ_MAX_LINES];
	bool killed;
	bool irq_mask_in_handler;
	bool arm_pending;	/* arm_later, arm_retry: run at the next callback */
	unsigned long irqs;
	unsigned long wakes;
	unsigned long rejections;
};

extern const struct vgpio_host_ops fuzz_host_ops;

void fuzz_host_init(struct fuzz_host *h, const uint8_t *data, size_t size);
void fuzz_vq_init(struct fuzz_vq *q, unsigned int num);

/* Device side of a queue. */
struct fuzz_chain *fuzz_vq_pending(struct fuzz_vq *q, unsigned int pick);
void fuzz_vq_read_out(struct fuzz_chain *c, void *dst, unsigned int len);
void fuzz_vq_push_used(struct fuzz_vq *q, struct fuzz_chain *c, uint32_t len);
void fuzz_vq_bad_used(struct fuzz_vq *q);
void fuzz_vq_reset(struct fuzz_vq *q);
bool fuzz_vq_holds(const struct fuzz_vq *q, const void *token);
unsigned int fuzz_vq_count(const struct fuzz_vq *q);

/* A used length the device claims: mostly right, sometimes hostile. */
uint32_t fuzz_used_len(struct fuzz_input *in, unsigned int in_len);

/* The core's bookkeeping agrees with what the device holds. */
void fuzz_check_core(struct fuzz_host *h);

/* Teardown as vgpio_drv_remove() does it, then prove nothing leaked. */
void fuzz_teardown(struct fuzz_host *h);

#endif /* FUZZ_HOST_H */
