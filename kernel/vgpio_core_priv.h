/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside the portable core: the state shared by the protocol-neutral
 * machinery (vgpio_core.c) and the two protocols (vgpio_id30.c,
 * vgpio_std.c). Nothing outside those three files includes this.
 */
#ifndef VGPIO_CORE_PRIV_H
#define VGPIO_CORE_PRIV_H

#include "vgpio_core.h"

/*
 * One request buffer: what the device reads, and (standard protocol) the
 * response it writes, each alone in its cache line(s) so that the DMA of
 * one never clobbers the other.
 */
struct vgpio_slot {
	struct vgpio_msg msg __aligned(VGPIO_DMA_ALIGN);
	struct vgpio_std_resp resp __aligned(VGPIO_DMA_ALIGN);
};

/**
 * struct vgpio_slot_state - bookkeeping of one request slot
 * @busy: the device holds the slot
 * @orphan: its request was abandoned; the slot is freed when it returns
 * @line: the line whose request it carries
 * @type: the wire type sent (standard protocol: validates the reply)
 * @in_len: length of the device-writable part (standard protocol)
 */
struct vgpio_slot_state {
	bool busy;
	bool orphan;
	u16 line;
	u16 type;
	u32 in_len;
};

/* One eventq buffer per line (standard protocol), laid out as a slot. */
struct vgpio_irq_slot {
	struct vgpio_std_irq_req req __aligned(VGPIO_DMA_ALIGN);
	struct vgpio_std_irq_resp resp __aligned(VGPIO_DMA_ALIGN);
};

/**
 * struct vgpio_line - per-line state
 * @live: wire type of the request a caller waits for on this line, 0 if none
 * @probe: @live is a resynchronisation probe, not the caller's request (ID 30)
 * @done: the reply for @live has arrived; @result is valid
 * @killed: @done was forced by vgpio_core_kill(), the waiter needs waking
 * @result: the reply's value (a negative errno or the result)
 * @slot: index of the slot carrying @live (standard), -1 if none
 * @stale: bit (1 << type) per abandoned request whose reply is owed (ID 30)
 * @irq_type: VGPIO_IRQ_* as the kernel asked
 * @irq_enabled: interrupt enabled
 * @irq_masked: interrupt masked (only meaningful while enabled)
 *	The three above are written without the lock, by the irq_chip
 *	callbacks (see vgpio_irq_mask()); read them with READ_ONCE().
 * @irq_queued: the device holds the line's eventq buffer (standard)
 * @irq_rearmed: an invalid eventq return was already re-posted (standard)
 * @dev_irq_type: the type the device was last told (standard), or
 *	VGPIO_DEV_IRQ_UNKNOWN after a SET_IRQ_TYPE that failed: the
 *	device may or may not have applied it
 * @dir: the direction the callers last set or read with success: what
 *	gpiolib takes the line for (standard: VGPIO_STD_DIRECTION_*; ID 30:
 *	VGPIO_DIR_*, VGPIO_DIR_UNKNOWN before any)
 * @dev_dir: the device's direction as its last answer, late ones
 *	included, says it, in @dir's values; VGPIO_DEV_DIR_UNKNOWN after a
 *	direction set that failed or was given up on, and after an ID 30
 *	device's reset (its spec names no initial direction)
 * @level: last level reported by HOST_LEVEL, -1 before the first one
 * @requested: a consumer took the line (REQUEST succeeded, no FREE since)
 * @cfg_dir: VGPIO_DIR_*: the direction a consumer last set, as far as
 *	known (either protocol)
 * @out_value: the level a consumer last drove
 *	The three above are what vgpio_core_resume() tells a reset device
 *	again; only the line's own operations write them.
 * @out_driven: a consumer has driven the line: @out_value is a level it
 *	chose, not the default
 */
/* No trigger type on the wire: the device's, unknown to the driver. */
#define VGPIO_DEV_IRQ_UNKNOWN	0xff
/* No direction on the wire: the device's, unknown to the driver. */
#define VGPIO_DEV_DIR_UNKNOWN	0xff

/* What struct vgpio_line.cfg_dir records, and an ID 30 line's dir. */
#define VGPIO_DIR_UNKNOWN	0	/* never set, freed, or a set that failed */
#define VGPIO_DIR_IN		1
#define VGPIO_DIR_OUT		2

struct vgpio_line {
	u16 live;
	bool probe;
	bool done;
	bool killed;
	s32 result;
	int slot;
	u8 stale;
	u8 irq_type;
	bool irq_enabled;
	bool irq_masked;
	bool irq_queued;
	bool irq_rearmed;
	u8 dev_irq_type;
	u8 dir;
	u8 dev_dir;
	signed char level;
	bool requested;
	u8 cfg_dir;
	u8 out_value;
	bool out_driven;
};

/* Enabled and unmasked: the line's own irq_chip callbacks decide. */
static inline bool vgpio_irq_wanted(const struct vgpio_line *l)
{
	return READ_ONCE(l->irq_enabled) && !READ_ONCE(l->irq_masked);
}

struct vgpio_core;

/**
 * struct vgpio_proto - what differs between the two protocols
 * @vq_names: the spec's queue names, indexed by queue
 * @req_vq: the queue requests go out on
 * @irq_vq: the queue @irq_arm posts on
 * @read_config: validate the config space, set ngpio, allocate what the
 *	protocol needs; @why on failure
 * @start: make the device usable (see vgpio_core_start())
 * @restart: optional; make a device that was reset usable again, as
 *	@start without what only a probe does (vgpio_core_resume())
 * @op: carry out one VGPIO_OP_* as one or more exchanges (vgpio_xfer())
 * @prepare: optional; under the lock, just before a request takes a
 *	slot: may reclaim slots and replace the request's type and value
 *	(ID 30 resynchronisation probes); 0 or -errno
 * @abandon: optional; under the lock, the waiter gave up on the request
 * @ping: optional; under the lock, post one request without effect whose
 *	answer is owed to nobody, so that a device that lost only a request
 *	still ends the silence (vgpio_collect()); true when it posted one
 * @vq_done: drain used buffers of queue @vq
 * @irq_types: supported VGPIO_IRQ_* bits
 * @irq_arm: optional; under the lock, hand the line's interrupt buffer
 *	to the device if it should have it; true when it posted one
 * @irq_sync: optional; tell the device the line's interrupt configuration
 */
struct vgpio_proto {
	const char *const *vq_names;
	unsigned int req_vq;
	unsigned int irq_vq;
	int (*read_config)(struct vgpio_core *core,
			   const struct vgpio_dev_info *info, const char **why);
	int (*start)(struct vgpio_core *core);
	int (*restart)(struct vgpio_core *core);
	int (*op)(struct vgpio_core *core, unsigned int line, unsigned int op,
		  u32 value, s32 *res);
	int (*prepare)(struct vgpio_core *core, struct vgpio_line *l,
		       unsigned int *type, u32 *value);
	void (*abandon)(struct vgpio_core *core, struct vgpio_line *l);
	bool (*ping)(struct vgpio_core *core, unsigned int line);
	void (*vq_done)(struct vgpio_core *core, unsigned int vq);
	unsigned int (*irq_types)(const struct vgpio_core *core);
	bool (*irq_arm)(struct vgpio_core *core, unsigned int line);
	int (*irq_sync)(struct vgpio_core *core, unsigned int line);
};

extern const struct vgpio_proto vgpio_id30_proto;
extern const struct vgpio_proto vgpio_std_proto;

struct vgpio_core {
	const struct vgpio_host_ops *ops;
	const struct vgpio_proto *proto;
	enum vgpio_protocol protocol;
	void *ctx;
	struct vgpio_lock lock;
	unsigned int ngpio;
	unsigned int num_vqs;
	bool has_irq;
	bool indirect;
	unsigned int irq_lines;
	char name[VGPIO_ID30_CFG_NAME_LEN + 1];
	void *names_mem;
	u8 *names_buf;
	char *names_block;
	u32 names_size;
	const char **line_names;
	struct vgpio_line *lines;
	void *rx_mem;
	struct vgpio_slot *rx;
	unsigned int rx_posted;
	void *tx_mem;
	struct vgpio_slot *tx;
	struct vgpio_slot_state *tx_state;
	unsigned int ntx;
	void *irq_mem;
	struct vgpio_irq_slot *irq_slots;
	unsigned int users;
	bool dead;
	bool silent;		/* a request timed out; no answer since */
	bool ping_pending;	/* a ping went out in this silence */
	bool quiesced;	/* vgpio_core_quiesce() .. vgpio_core_resume() */
	bool detached;	/* vgpio_core_detach() .. vgpio_core_resume() */
	int last_error;
	int irq_arm_error;	/* errno of the last failed eventq post */
	int irq_handling;	/* line whose handler the drain runs, or -1 */
	struct vgpio_stats stats;
};

/* What a queue callback does once the lock is dropped. */
struct vgpio_rx_action {
	int wake;
	int irq;
	int err;
	const char *why;
};

#define VGPIO_RX_ACTION_INIT	{ .wake = -1, .irq = -1 }

/**
 * struct vgpio_xfer - one request on the wire
 * @type: wire type
 * @value: wire value
 * @in: device-writable buffer; NULL for the slot's own response (standard)
 * @in_len: its length; 0 when the protocol answers on another queue
 */
struct vgpio_xfer {
	unsigned int type;
	u32 value;
	void *in;
	unsigned int in_len;
};

/* Shared machinery, vgpio_core.c. */
void *vgpio_alloc_dma(unsigned int size, void **raw);
int vgpio_token_index(const void *base, unsigned int stride, unsigned int n,
		      const void *token);
void vgpio_reject(struct vgpio_core *core, u32 *counter, int err);
void vgpio_drop(struct vgpio_core *core, struct vgpio_rx_action *act,
		u32 *counter, int err, const char *why);
void vgpio_act(struct vgpio_core *core, const struct vgpio_rx_action *act);
void vgpio_complete(struct vgpio_core *core, unsigned int line, s32 result,
		    struct vgpio_rx_action *act);
int vgpio_xfer(struct vgpio_core *core, unsigned int line,
	       const struct vgpio_xfer *x, s32 *res);
int vgpio_post(struct vgpio_core *core, unsigned int line, unsigned int type,
	       u32 value, void *in, unsigned int in_len);
int vgpio_check_ngpio(u16 ngpio, unsigned int max, const char **why);
bool vgpio_name_ok(const char *name);
void vgpio_parse_names(struct vgpio_core *core, u32 size);
void vgpio_kick(struct vgpio_core *core, unsigned int vq, bool kick);
bool vgpio_irq_arm_locked(struct vgpio_core *core, unsigned int line);
void vgpio_drain(struct vgpio_core *core, unsigned int vq,
		 bool (*one)(struct vgpio_core *core, void *token, u32 len,
			     struct vgpio_rx_action *act));

u8 vgpio_cfg_u8(struct vgpio_core *core, unsigned int off);
u16 vgpio_cfg_le16(struct vgpio_core *core, unsigned int off);
u32 vgpio_cfg_le32(struct vgpio_core *core, unsigned int off);
void vgpio_cfg_bytes(struct vgpio_core *core, unsigned int off, char *buf,
		     unsigned int len);

#endif /* VGPIO_CORE_PRIV_H */
