/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Portable core of the virtio-gpio guest driver.
 *
 * All protocol and driver logic lives behind this interface, for both
 * protocols the driver speaks (the 2020 proposal, device ID 30, and the
 * virtio 1.2 standard, device ID 41): config-space validation, buffer
 * pools and their reclaim, matching replies to per-line requests, and
 * interrupts. The same sources are compiled into the kernel module and
 * into the userspace test build; only struct vgpio_host_ops differs.
 */
#ifndef VGPIO_CORE_H
#define VGPIO_CORE_H

#include "vgpio_id30_proto.h"
#include "vgpio_std_proto.h"

/**
 * struct vgpio_msg - the 8-byte message both protocols send
 * @type: VGPIO_ID30_MSG_* (with VGPIO_ID30_MSG_REPLY set in replies) or
 *	VGPIO_STD_MSG_*
 * @line: line number, 0 .. ngpio - 1 (the standard's "gpio")
 * @value: argument, result, or (ID 30 replies) a negative errno in two's
 *	complement
 *
 * Every message on either queue of the 2020 protocol has this layout, and
 * so has every request of the standard one; the core shares the type.
 */
struct vgpio_msg {
	__le16 type;
	__le16 line;
	__le32 value;
};

static_assert(sizeof(struct vgpio_msg) == 8, "message is 8 bytes");
static_assert(offsetof(struct vgpio_msg, line) == 2, "line @2");
static_assert(offsetof(struct vgpio_msg, value) == 4, "value @4");

/** struct vgpio_core - the driver state of one device, opaque to hosts */
struct vgpio_core;

/* Receive buffers kept posted on the device->driver queue (2020 protocol). */
#define VGPIO_RX_BUFS		8

/*
 * Request slots: one per line up to VGPIO_TX_LINES lines, then spares for
 * abandoned requests. A larger device shares the pool; a caller that
 * finds it empty gets -ENOSPC, as one finding the request queue full does.
 */
#define VGPIO_TX_LINES		256
#define VGPIO_TX_SPARE		8

/* Most virtqueues a device of either protocol has. */
#define VGPIO_MAX_VQS		2

/*
 * How much config space the driver reads when the transport does not say
 * how much there is (the kernel's transports do not): what every one of
 * them can serve. virtio-mmio maps 0x100..0x1ff, vhost-user's GET_CONFIG
 * carries at most 256 bytes (VHOST_USER_MAX_CONFIG_SIZE in QEMU). Reading
 * further runs past virtio-mmio's window and into virtio-pci's
 * BUG_ON(offset + len > device_len).
 */
#define VGPIO_CFG_WINDOW	256

/*
 * Reads of the whole config at probe before a device whose config keeps
 * changing meanwhile is refused: a bound, where the kernel's
 * virtio_cread*() helpers retry for as long as the device likes.
 */
#define VGPIO_CFG_TRIES		4

/* Interrupt trigger types; the values are the kernel's IRQ_TYPE_*. */
#define VGPIO_IRQ_NONE		0
#define VGPIO_IRQ_EDGE_RISING	1
#define VGPIO_IRQ_EDGE_FALLING	2
#define VGPIO_IRQ_EDGE_BOTH	3
#define VGPIO_IRQ_LEVEL_HIGH	4
#define VGPIO_IRQ_LEVEL_LOW	8
#define VGPIO_IRQ_LEVEL_BOTH	(VGPIO_IRQ_LEVEL_HIGH | VGPIO_IRQ_LEVEL_LOW)

/*
 * GPIO operations, the same for both protocols. The first six have the
 * values of the 2020 protocol's message types; the core translates them
 * for the standard protocol (see vgpio_std.c).
 */
#define VGPIO_OP_REQUEST		1	/* a consumer takes the line */
#define VGPIO_OP_DIRECTION_INPUT	2
#define VGPIO_OP_DIRECTION_OUTPUT	3	/* value: the level to drive */
#define VGPIO_OP_GET_DIRECTION		4	/* result: VGPIO_LINE_DIRECTION_* */
#define VGPIO_OP_GET_VALUE		5	/* result: 0 or 1 */
#define VGPIO_OP_SET_VALUE		6	/* result: the level now driven */
#define VGPIO_OP_FREE			7	/* the consumer let go */
#define VGPIO_OP_LAST			VGPIO_OP_FREE

/*
 * Result of VGPIO_OP_GET_DIRECTION, whatever the wire says: the values of
 * gpiolib's GPIO_LINE_DIRECTION_*.
 */
#define VGPIO_LINE_DIRECTION_OUT	0
#define VGPIO_LINE_DIRECTION_IN		1

/**
 * enum vgpio_protocol - protocols the core speaks, chosen at probe
 * @VGPIO_PROTOCOL_ID30: the 2020 proposal, device ID 30
 * @VGPIO_PROTOCOL_STANDARD: virtio 1.2 GPIO device, device ID 41
 */
enum vgpio_protocol {
	VGPIO_PROTOCOL_ID30,
	VGPIO_PROTOCOL_STANDARD,
};

/**
 * struct vgpio_dev_info - what the host knows about the device at probe
 * @device_id: the virtio device ID; picks the protocol
 * @cfg_size: size of the config space when the transport says it, else 0:
 *	then nothing beyond VGPIO_CFG_WINDOW is read
 * @irq: the standard protocol's VIRTIO_GPIO_F_IRQ was negotiated
 * @indirect: the queues take indirect descriptor tables, so a chain takes
 *	one ring entry however many buffers it has
 * @legacy: VIRTIO_F_VERSION_1 was not negotiated: a pre-1.0 device, whose
 *	config and messages are in the guest's byte order. The standard
 *	device is a virtio 1.x one; the core refuses it so.
 */
struct vgpio_dev_info {
	unsigned int device_id;
	unsigned int cfg_size;
	bool irq;
	bool indirect;
	bool legacy;
};

/**
 * struct vgpio_host_ops - what the core needs from its environment
 * @cfg_get: read @len bytes of config space at @offset, one field at a
 *	time (@len is the field's width); bytes are raw, little-endian
 * @add_chain: post one buffer chain on queue @vq: @out_len bytes the
 *	device reads, then @in_len bytes it writes (either part may be
 *	absent: NULL and 0). @token is what get_buf() returns for it. Called
 *	with the core lock held, so it must not sleep. 0 or a negative errno.
 * @get_buf: take the next used chain of @vq, storing the length the
 *	device claims to have written in @len; NULL when none. Lock held.
 * @kick_prepare: true when @vq needs a notification; lock held
 * @notify: notify the device about @vq; called without the lock
 * @wait: sleep until vgpio_line_done() is true for @line. Returns 0 when
 *	it is, -ETIMEDOUT or -EINTR (or any negative errno) when giving up.
 *	Called without the lock. -ETIMEDOUT, and only it, tells the core
 *	the device has gone silent (see vgpio_request()).
 * @wake: wake a waiter sleeping in @wait for @line; called without lock
 * @irq: an enabled interrupt fired on @line (already bounds-checked);
 *	called without the lock, from a queue callback
 * @rejected: a device message was dropped: @err says which check failed
 *	(see vgpio_core_last_error()), @why in words; without the lock
 * @vq_size: descriptors in the ring of @vq, which bounds what the core
 *	posts to it (each part of a chain takes one: no indirect tables)
 * @cfg_generation: the transport's config generation counter, which a
 *	device changes whenever its config changes; NULL where the transport
 *	has none. The core reads the config again when it changed meanwhile.
 * @arm_later: an interrupt was enabled or unmasked where the core may
 *	neither lock nor post a buffer (vgpio_irq_mask()), and not by a
 *	handler of its own event: call vgpio_irq_arm_pending() soon, where
 *	a spinlock_t may be taken. Called under the irq descriptor's raw
 *	spinlock, so it may only schedule. NULL where the host unmasks only
 *	in a bus sync or in a handler.
 * @arm_retry: optional; an eventq buffer could not be posted for want of
 *	memory or ring room (no indirect table from a GFP_ATOMIC allocation,
 *	and too few descriptors to do without one): call
 *	vgpio_irq_arm_pending() again after a while, which asks again if it
 *	still fails. Called under the core's lock, so it may only schedule;
 *	a retry still pending must be cancelled before the queues go.
 *	Without it, the line waits for its next sync.
 * @silent: optional; the device stopped answering (@silent true: a
 *	request timed out, later ones fail at once) or answers again (false).
 *	Called without the lock, once per change.
 */
struct vgpio_host_ops {
	void (*cfg_get)(void *ctx, unsigned int offset, void *buf,
			unsigned int len);
	int (*add_chain)(void *ctx, unsigned int vq, void *out,
			 unsigned int out_len, void *in, unsigned int in_len,
			 void *token);
	void *(*get_buf)(void *ctx, unsigned int vq, unsigned int *len);
	bool (*kick_prepare)(void *ctx, unsigned int vq);
	void (*notify)(void *ctx, unsigned int vq);
	int (*wait)(void *ctx, struct vgpio_core *core, unsigned int line);
	void (*wake)(void *ctx, unsigned int line);
	void (*irq)(void *ctx, unsigned int line);
	void (*rejected)(void *ctx, int err, const char *why);
	unsigned int (*vq_size)(void *ctx, unsigned int vq);
	u32 (*cfg_generation)(void *ctx);
	void (*arm_later)(void *ctx);
	void (*arm_retry)(void *ctx);
	void (*silent)(void *ctx, bool silent);
};

/**
 * struct vgpio_stats - what the core saw from the device
 * @replies: replies matched to a waiting request
 * @late_replies: replies matched to an abandoned request and dropped
 * @events: ID 30 HOST_LEVEL events, or standard eventq buffers returned
 * @irqs: events that fired @irq
 * @timeouts: requests abandoned after @wait gave up
 * @resyncs: probes sent to resynchronise a line after an abandon (ID 30)
 * @tx_reclaimed: request buffers returned by the device
 * @bad_len: messages whose used length was not the expected one
 * @bad_type: messages of unknown or reserved type, or an unknown status
 * @bad_line: messages naming a line beyond ngpio
 * @bad_value: replies or events with an out-of-range value
 * @unexpected: replies for a line with no request of that type pending
 * @bad_token: used buffers that were not ours
 * @rx_repost_failed: receive or eventq buffers the queue refused to take
 * @irq_invalid: eventq buffers the device returned unused (standard)
 * @silences: times a timeout found the device answering nothing
 * @silent_fails: requests refused at once while the device was silent
 * @pings: requests sent only to learn whether a silent device answers
 */
struct vgpio_stats {
	u32 replies;
	u32 late_replies;
	u32 events;
	u32 irqs;
	u32 timeouts;
	u32 resyncs;
	u32 tx_reclaimed;
	u32 bad_len;
	u32 bad_type;
	u32 bad_line;
	u32 bad_value;
	u32 unexpected;
	u32 bad_token;
	u32 rx_repost_failed;
	u32 irq_invalid;
	u32 silences;
	u32 silent_fails;
	u32 pings;
};

/**
 * vgpio_core_probe() - pick the protocol, read and validate the config
 * @ops: host operations
 * @ctx: passed back to every operation
 * @info: device ID, config size and negotiated features
 * @out: the new core on success
 * @why: on failure, a static human-readable reason
 *
 * Return: 0, -ENODEV for a device that speaks neither protocol (a legacy
 * standard device included), -EINVAL for an invalid config space, -ENOMEM.
 */
int vgpio_core_probe(const struct vgpio_host_ops *ops, void *ctx,
		     const struct vgpio_dev_info *info,
		     struct vgpio_core **out, const char **why);

/** vgpio_core_protocol() - which protocol the device speaks */
enum vgpio_protocol vgpio_core_protocol(const struct vgpio_core *core);

/** vgpio_core_num_vqs() - how many virtqueues the host must set up */
unsigned int vgpio_core_num_vqs(const struct vgpio_core *core);

/** vgpio_core_vq_name() - the spec's name of queue @vq */
const char *vgpio_core_vq_name(const struct vgpio_core *core,
			       unsigned int vq);

/**
 * vgpio_core_start() - make the device usable once its queues exist
 * @core: the core
 *
 * Call once the queues exist and the device is ready (DRIVER_OK). The
 * 2020 protocol posts its receive buffers; the standard one fetches the
 * line names, which sleeps in @wait (so: process context, line 0's wait
 * queue ready). A device that will not give its names leaves the lines
 * unnamed, reported through @rejected.
 * Return: 0, or -ENOSPC when the receive queue took no buffer at all.
 */
int vgpio_core_start(struct vgpio_core *core);

/**
 * vgpio_core_kill() - refuse new requests, fail the waiting ones
 * @core: the core
 *
 * Waiters return -ENODEV and no interrupt is raised any more. Afterwards
 * the host waits until no caller is left (vgpio_core_idle() tells, or the
 * host's own accounting of its callers), resets the device so it lets go
 * of the buffers, and calls vgpio_core_destroy().
 */
void vgpio_core_kill(struct vgpio_core *core);

/**
 * vgpio_core_quiesce() - refuse new operations ahead of a device reset
 * @core: the core
 *
 * For a reset the core survives (suspend, hibernation, a transport's
 * reset): vgpio_request() and vgpio_irq_sync() called from now on fail
 * with -ESHUTDOWN, as i2c does for a suspended adapter; the interrupt
 * configuration they were asked for is still recorded, and
 * vgpio_core_resume() tells it to the device. Operations already inside
 * finish: the host waits for them, then calls vgpio_core_detach().
 */
void vgpio_core_quiesce(struct vgpio_core *core);

/**
 * vgpio_core_detach() - the queues are about to go away
 * @core: the core, quiesced, with no caller inside any more
 *
 * From now on the core posts no buffer (vgpio_irq_arm_pending() included,
 * which a host's deferred work may still run) until vgpio_core_resume().
 * Then the host resets the device and deletes its queues.
 */
void vgpio_core_detach(struct vgpio_core *core);

/**
 * vgpio_core_resume() - bring a device that was reset back to its state
 * @core: the core, detached
 *
 * Call once the new queues exist and the device is ready (DRIVER_OK). The
 * core forgets every buffer the old queues held and what the device was
 * told, posts its receive buffers again (2020 protocol), then tells the
 * device line by line what its consumers had set: REQUEST, the direction
 * and the level driven, the trigger type of every enabled interrupt, whose
 * eventq buffer goes back to the device. Then operations are accepted
 * again. Sleeps as vgpio_request() does.
 * Return: 0; or the first error replaying a line (a line whose replay
 * failed is left as the device has it; a timeout ends the replay, so a
 * silent device costs one); or -ENOSPC when the receive queue took no
 * buffer (then operations stay refused).
 */
int vgpio_core_resume(struct vgpio_core *core);

/**
 * vgpio_core_idle() - no caller is inside vgpio_request() any more
 * @core: the core
 */
bool vgpio_core_idle(struct vgpio_core *core);

/**
 * vgpio_core_destroy() - free the core and every buffer it owns
 * @core: the core, or NULL
 *
 * The device must no longer hold any of the core's buffers.
 */
void vgpio_core_destroy(struct vgpio_core *core);

/**
 * vgpio_request() - perform one GPIO operation and wait for the device
 * @core: the core
 * @line: line number
 * @op: VGPIO_OP_*
 * @value: argument (0 or 1 for DIRECTION_OUTPUT and SET_VALUE)
 * @result: the operation's result on success (may be NULL)
 *
 * One operation per line is in flight at a time; different lines proceed
 * in parallel. The caller serialises the operations of one line.
 *
 * A request that times out leaves the device silent: every later request
 * fails at once with -ETIMEDOUT, without going to the device, until the
 * device uses any buffer again (the late reply, the ping the timeout sent,
 * an event). So a device that stopped answering costs one timeout, not
 * one per call, and its lines work again as soon as it answers.
 *
 * Return: 0; the device's negative errno (ID 30) or -EIO for its error
 * status (standard); -EINVAL for a bad argument; -EBUSY when the line
 * already has a request in flight; -ETIMEDOUT or -EINTR from @wait, and
 * -ETIMEDOUT at once while the device is silent;
 * -ENODEV after vgpio_core_kill(); -ESHUTDOWN from vgpio_core_quiesce()
 * until vgpio_core_resume(); -ENOSPC when the queue is full.
 */
int vgpio_request(struct vgpio_core *core, unsigned int line,
		  unsigned int op, u32 value, u32 *result);

/**
 * vgpio_line_done() - the request pending on @line has its answer
 * @core: the core
 * @line: line number, < ngpio
 */
bool vgpio_line_done(struct vgpio_core *core, unsigned int line);

/**
 * vgpio_vq_callback() - the device used buffers of queue @vq
 * @core: the core
 * @vq: queue index
 *
 * Call from every virtqueue's callback. Each used buffer is validated
 * and handled; receive buffers are posted again.
 */
void vgpio_vq_callback(struct vgpio_core *core, unsigned int vq);

/**
 * vgpio_core_irq_lines() - how many lines, from line 0, take interrupts
 * @core: the core, started
 * Return: ngpio, except on a standard device whose eventq ring cannot
 * hold one buffer (two descriptors) per line: then as many as fit, and
 * vgpio_irq_set_type() refuses the others with -ENOSPC.
 */
unsigned int vgpio_core_irq_lines(const struct vgpio_core *core);

/**
 * vgpio_core_irq_types() - the trigger types the device supports
 * @core: the core
 * Return: a mask of VGPIO_IRQ_EDGE_BOTH and VGPIO_IRQ_LEVEL_BOTH bits;
 * 0 when the device delivers no interrupts.
 */
unsigned int vgpio_core_irq_types(const struct vgpio_core *core);

/**
 * vgpio_irq_set_type() - choose which level changes fire @irq
 * @core: the core
 * @line: line number
 * @type: VGPIO_IRQ_NONE, VGPIO_IRQ_EDGE_* or VGPIO_IRQ_LEVEL_*
 *
 * Takes effect on the device at the next vgpio_irq_sync().
 * Return: 0, -EINVAL, or -EOPNOTSUPP for a type the device lacks.
 */
int vgpio_irq_set_type(struct vgpio_core *core, unsigned int line,
		       unsigned int type);

/**
 * vgpio_irq_enable() - enable or disable the interrupt of @line
 * @core: the core
 * @line: line number
 * @enable: true to enable (which also unmasks)
 *
 * Never sleeps; the device learns at the next vgpio_irq_sync().
 * Return: 0 or -EINVAL.
 */
int vgpio_irq_enable(struct vgpio_core *core, unsigned int line,
		     bool enable);

/**
 * vgpio_irq_mask() - mask or unmask an enabled interrupt
 * @core: the core
 * @line: line number
 * @masked: true to mask
 *
 * Never sleeps and takes no lock: it only records the wish. The
 * standard device's eventq buffer goes back at the next vgpio_irq_sync(),
 * when a handler unmasked its own line as its event is finished, and
 * otherwise by vgpio_irq_arm_pending(), which an unmask asks the host
 * for (@arm_later): the kernel also unmasks outside a bus sync (a
 * resent interrupt's flow handler, resume).
 * Return: 0 or -EINVAL.
 */
int vgpio_irq_mask(struct vgpio_core *core, unsigned int line, bool masked);

/**
 * vgpio_irq_arm_pending() - hand back every wanted line's eventq buffer
 * @core: the core
 *
 * What @arm_later and @arm_retry ask for. Takes the lock; never sleeps.
 *
 * Return: 0, or the errno of a post that failed (which asked for a retry
 * when memory or room may come back).
 */
int vgpio_irq_arm_pending(struct vgpio_core *core);

/**
 * vgpio_irq_sync() - tell the device what set_type/enable changed
 * @core: the core
 * @line: line number
 *
 * Sleeps (the standard protocol sends SET_IRQ_TYPE); the caller holds
 * the line as for vgpio_request(). Nothing to do for the 2020 protocol.
 * Return: 0 or the error of the request.
 */
int vgpio_irq_sync(struct vgpio_core *core, unsigned int line);

/**
 * vgpio_line_level() - last level a HOST_LEVEL event reported for @line
 * @core: the core
 * @line: line number
 * Return: 0 or 1; -1 when unknown (before the first event, and always
 * for the standard protocol, whose events carry no level); -EINVAL for
 * a bad line.
 */
int vgpio_line_level(struct vgpio_core *core, unsigned int line);

/** vgpio_core_ngpio() - number of lines the device declared */
unsigned int vgpio_core_ngpio(const struct vgpio_core *core);

/** vgpio_core_name() - device name, "" when the device gave none */
const char *vgpio_core_name(const struct vgpio_core *core);

/**
 * vgpio_core_line_names() - ngpio names; NULL where the device gave none
 * @core: the core
 */
const char *const *vgpio_core_line_names(const struct vgpio_core *core);

/** vgpio_core_stats() - counters of what the core saw */
const struct vgpio_stats *vgpio_core_stats(const struct vgpio_core *core);

/**
 * vgpio_core_last_error() - errno of the last rejected device message
 * @core: the core
 * Return: 0 when nothing was rejected yet.
 */
int vgpio_core_last_error(const struct vgpio_core *core);

#endif /* VGPIO_CORE_H */
