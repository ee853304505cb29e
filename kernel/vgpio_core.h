/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Portable core of the virtio-gpio guest driver.
 *
 * All protocol and driver logic lives behind this interface: config-space
 * validation, the receive-buffer pool, transmit-buffer reclaim, matching
 * replies to per-line requests, HOST_LEVEL events and edge detection. The
 * same vgpio_core.c is compiled into the kernel module and into the
 * userspace test build; only struct vgpio_host_ops differs.
 */
#ifndef VGPIO_CORE_H
#define VGPIO_CORE_H

#include "vgpio_proto.h"

/** struct vgpio_core - the driver state of one device, opaque to hosts */
struct vgpio_core;

/* Receive buffers kept posted on the device->driver queue. */
#define VGPIO_RX_BUFS		8

/* Spare transmit slots beyond one per line (for abandoned requests). */
#define VGPIO_TX_SPARE		8

/* Interrupt trigger types; the values are the kernel's IRQ_TYPE_EDGE_*. */
#define VGPIO_IRQ_NONE		0
#define VGPIO_IRQ_EDGE_RISING	1
#define VGPIO_IRQ_EDGE_FALLING	2
#define VGPIO_IRQ_EDGE_BOTH	3

/**
 * struct vgpio_host_ops - what the core needs from its environment
 * @cfg_get: read @len bytes of config space at @offset, one field at a
 *	time (@len is the field's width); bytes are raw, little-endian
 * @add_inbuf: post a device-writable buffer on queue @vq; the buffer
 *	pointer is the token get_buf() returns. Called with the core lock
 *	held, so it must not sleep. 0 or a negative errno.
 * @add_outbuf: post a device-readable buffer, as @add_inbuf
 * @get_buf: take the next used buffer of @vq, storing the length the
 *	device claims in @len; NULL when none. Called with the lock held.
 * @kick_prepare: true when @vq needs a notification; lock held
 * @notify: notify the device about @vq; called without the lock
 * @wait: sleep until vgpio_line_done() is true for @line. Returns 0 when
 *	it is, -ETIMEDOUT or -EINTR (or any negative errno) when giving up.
 *	Called without the lock.
 * @wake: wake a waiter sleeping in @wait for @line; called without lock
 * @irq: an enabled interrupt fired on @line (already bounds-checked);
 *	called without the lock, from the receive path
 * @rejected: a device message was dropped: @err says which check failed
 *	(see vgpio_core_last_error()), @why in words; without the lock
 */
struct vgpio_host_ops {
	void (*cfg_get)(void *ctx, unsigned int offset, void *buf,
			unsigned int len);
	int (*add_inbuf)(void *ctx, unsigned int vq, void *buf,
			 unsigned int len);
	int (*add_outbuf)(void *ctx, unsigned int vq, void *buf,
			  unsigned int len);
	void *(*get_buf)(void *ctx, unsigned int vq, unsigned int *len);
	bool (*kick_prepare)(void *ctx, unsigned int vq);
	void (*notify)(void *ctx, unsigned int vq);
	int (*wait)(void *ctx, struct vgpio_core *core, unsigned int line);
	void (*wake)(void *ctx, unsigned int line);
	void (*irq)(void *ctx, unsigned int line);
	void (*rejected)(void *ctx, int err, const char *why);
};

/**
 * struct vgpio_stats - what the core saw from the device
 * @replies: replies matched to a waiting request
 * @late_replies: replies matched to an abandoned request and dropped
 * @events: HOST_LEVEL events accepted
 * @irqs: events that fired @irq
 * @timeouts: requests abandoned after @wait gave up
 * @resyncs: probes sent to resynchronise a line after an abandon
 * @tx_reclaimed: transmit buffers returned by the device
 * @bad_len: messages whose used length was not 8 bytes
 * @bad_type: messages of unknown or reserved type
 * @bad_line: messages naming a line beyond ngpio
 * @bad_value: replies or events with an out-of-range value
 * @unexpected: replies for a line with no request of that type pending
 * @bad_token: used buffers that were not ours
 * @rx_repost_failed: receive buffers the queue refused to take back
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
};

/**
 * vgpio_core_probe() - read and validate the config space, allocate state
 * @ops: host operations
 * @ctx: passed back to every operation
 * @cfg_size: size of the device's config space when the host knows it,
 *	0 when it does not (VGPIO_CFG_MAX_SIZE is the bound then)
 * @out: the new core on success
 * @why: on failure, a static human-readable reason
 *
 * Return: 0, -ENODEV for a device that does not speak this protocol,
 * -EINVAL for an invalid config space, -ENOMEM.
 */
int vgpio_core_probe(const struct vgpio_host_ops *ops, void *ctx,
		     unsigned int cfg_size, struct vgpio_core **out,
		     const char **why);

/**
 * vgpio_core_start() - post the receive buffers and notify the device
 * @core: the core
 *
 * Call once the queues exist and the device is ready (DRIVER_OK).
 * Return: 0, or -ENOSPC when the queue took no buffer at all.
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
 * vgpio_request() - send one request and wait for its reply
 * @core: the core
 * @line: line number
 * @type: VGPIO_MSG_REQUEST .. VGPIO_MSG_SET_VALUE
 * @value: argument (0 or 1 for DIRECTION_OUTPUT and SET_VALUE)
 * @result: the reply's value on success (may be NULL)
 *
 * One request per line is in flight at a time; different lines proceed
 * in parallel.
 *
 * Return: 0; the device's negative errno; -EINVAL for a bad argument;
 * -EBUSY when the line already has a request in flight; -ETIMEDOUT or
 * -EINTR from @wait; -ENODEV after vgpio_core_kill(); -ENOSPC when the
 * transmit queue is full.
 */
int vgpio_request(struct vgpio_core *core, unsigned int line,
		  unsigned int type, u32 value, u32 *result);

/**
 * vgpio_line_done() - the request pending on @line has its answer
 * @core: the core
 * @line: line number, < ngpio
 */
bool vgpio_line_done(struct vgpio_core *core, unsigned int line);

/**
 * vgpio_rx_callback() - drain every used receive buffer
 * @core: the core
 *
 * Call from the device->driver queue's callback. Each buffer is
 * validated, handled and posted again.
 */
void vgpio_rx_callback(struct vgpio_core *core);

/**
 * vgpio_tx_callback() - reclaim every used transmit buffer
 * @core: the core
 */
void vgpio_tx_callback(struct vgpio_core *core);

/**
 * vgpio_irq_set_type() - choose which level changes fire @irq
 * @core: the core
 * @line: line number
 * @type: VGPIO_IRQ_NONE or VGPIO_IRQ_EDGE_*
 * Return: 0 or -EINVAL.
 */
int vgpio_irq_set_type(struct vgpio_core *core, unsigned int line,
		       unsigned int type);

/**
 * vgpio_irq_enable() - unmask or mask the interrupt of @line
 * @core: the core
 * @line: line number
 * @enable: true to unmask
 * Return: 0 or -EINVAL.
 */
int vgpio_irq_enable(struct vgpio_core *core, unsigned int line,
		     bool enable);

/**
 * vgpio_line_level() - last level a HOST_LEVEL event reported for @line
 * @core: the core
 * @line: line number
 * Return: 0 or 1; -1 before the first event; -EINVAL for a bad line.
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
