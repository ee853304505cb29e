// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Portable core of the virtio-gpio guest driver: every protocol rule and
 * every decision about device input lives here, so that the userspace
 * build can test exactly the code the kernel runs.
 *
 * The device is never trusted: lengths, line numbers, types, values and
 * buffer tokens coming back from it are checked before use, and a bad
 * message is counted and dropped without touching any request's state.
 */
#include "vgpio_core.h"

/* A DMA buffer alone in its cache line(s). */
struct vgpio_slot {
	struct vgpio_msg msg;
} __aligned(VGPIO_DMA_ALIGN);

/**
 * struct vgpio_line - per-line state
 * @live: type of the request a caller waits for on this line, 0 if none
 * @probe: @live is a resynchronisation probe, not the caller's request
 * @done: the reply for @live has arrived; @result is valid
 * @killed: @done was forced by vgpio_core_kill(), the waiter needs waking
 * @result: the reply's value (a negative errno or the result)
 * @stale: bit (1 << type) per abandoned request whose reply is still owed
 * @irq_type: VGPIO_IRQ_*
 * @irq_enabled: interrupt unmasked
 * @level: last level reported by HOST_LEVEL, -1 before the first one
 */
struct vgpio_line {
	u16 live;
	bool probe;
	bool done;
	bool killed;
	s32 result;
	u8 stale;
	u8 irq_type;
	bool irq_enabled;
	signed char level;
};

struct vgpio_core {
	const struct vgpio_host_ops *ops;
	void *ctx;
	struct vgpio_lock lock;
	unsigned int ngpio;
	char name[VGPIO_CFG_NAME_LEN + 1];
	char *names_block;
	const char **line_names;
	struct vgpio_line *lines;
	void *rx_mem;
	struct vgpio_slot *rx;
	unsigned int rx_posted;
	void *tx_mem;
	struct vgpio_slot *tx;
	bool *tx_busy;
	unsigned int ntx;
	unsigned int users;
	bool dead;
	int last_error;
	struct vgpio_stats stats;
};

/* What the receive path does once the lock is dropped. */
struct vgpio_rx_action {
	int wake;
	int irq;
	int err;
	const char *why;
};

static bool vgpio_is_request(unsigned int type)
{
	return type >= VGPIO_MSG_REQUEST && type <= VGPIO_MSG_SET_VALUE;
}

static bool vgpio_takes_level(unsigned int type)
{
	return type == VGPIO_MSG_DIRECTION_OUTPUT ||
	       type == VGPIO_MSG_SET_VALUE;
}

/* Range of a successful reply's value, per request type. */
static bool vgpio_reply_value_ok(unsigned int type, s32 value)
{
	if (value < 0)
		return value >= -VGPIO_MAX_ERRNO;
	switch (type) {
	case VGPIO_MSG_GET_DIRECTION:
	case VGPIO_MSG_GET_VALUE:
	case VGPIO_MSG_SET_VALUE:
		return value <= 1;
	default:
		return value == 0;
	}
}

/*
 * Allocate @n DMA slots, each alone in its cache lines. kmalloc only
 * guarantees natural alignment for power-of-two sizes, so align by hand
 * and keep the raw pointer for freeing.
 */
static struct vgpio_slot *vgpio_alloc_slots(unsigned int n, void **raw)
{
	unsigned long addr;

	*raw = vgpio_zalloc(n * sizeof(struct vgpio_slot) +
			    VGPIO_DMA_ALIGN - 1);
	if (!*raw)
		return NULL;
	addr = (unsigned long)*raw;
	addr = (addr + VGPIO_DMA_ALIGN - 1) &
	       ~(unsigned long)(VGPIO_DMA_ALIGN - 1);
	return (struct vgpio_slot *)addr;
}

/* Map a token the device handed back to one of our slots, or -1. */
static int vgpio_slot_index(const struct vgpio_slot *base, unsigned int n,
			    const void *token)
{
	unsigned long off = (unsigned long)token - (unsigned long)base;

	if ((unsigned long)token < (unsigned long)base ||
	    off % sizeof(*base) || off / sizeof(*base) >= n)
		return -1;
	return off / sizeof(*base);
}

static void vgpio_reject(struct vgpio_core *core, u32 *counter, int err)
{
	(*counter)++;
	core->last_error = err;
}

/* A dropped device message, also reported to the host once unlocked. */
static void vgpio_drop(struct vgpio_core *core, struct vgpio_rx_action *act,
		       u32 *counter, int err, const char *why)
{
	vgpio_reject(core, counter, err);
	act->err = err;
	act->why = why;
}

/* ------------------------------------------------------------------ */
/* Probe: config space                                                  */

static u8 vgpio_cfg_u8(struct vgpio_core *core, unsigned int off)
{
	u8 v = 0;

	core->ops->cfg_get(core->ctx, off, &v, sizeof(v));
	return v;
}

static u16 vgpio_cfg_le16(struct vgpio_core *core, unsigned int off)
{
	__le16 v = 0;

	core->ops->cfg_get(core->ctx, off, &v, sizeof(v));
	return le16_to_cpu(v);
}

static u32 vgpio_cfg_le32(struct vgpio_core *core, unsigned int off)
{
	__le32 v = 0;

	core->ops->cfg_get(core->ctx, off, &v, sizeof(v));
	return le32_to_cpu(v);
}

static void vgpio_cfg_bytes(struct vgpio_core *core, unsigned int off,
			    char *buf, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		core->ops->cfg_get(core->ctx, off + i, &buf[i], 1);
}

/*
 * Split the names block into ngpio names. The block is NUL-terminated by
 * us one byte past its end, so a missing final NUL is harmless; empty
 * names and missing trailing names leave NULL entries; extra names are
 * ignored.
 */
static void vgpio_parse_names(struct vgpio_core *core, u32 size)
{
	unsigned int idx = 0;
	u32 pos = 0;

	while (idx < core->ngpio && pos < size) {
		const char *s = core->names_block + pos;
		u32 len = strnlen(s, size - pos);

		core->line_names[idx++] = len ? s : NULL;
		pos += len + 1;
	}
}

static int vgpio_read_config(struct vgpio_core *core, unsigned int cfg_size,
			     const char **why)
{
	unsigned int limit = VGPIO_CFG_MAX_SIZE;
	u32 names_size;
	u8 version;
	u16 ngpio;

	if (cfg_size && cfg_size < VGPIO_CFG_LINE_NAMES) {
		*why = "config space smaller than its fixed part";
		return -ENODEV;
	}
	if (cfg_size && cfg_size < limit)
		limit = cfg_size;

	version = vgpio_cfg_u8(core, VGPIO_CFG_VERSION);
	if (version != VGPIO_PROTO_VERSION) {
		*why = "unsupported protocol version (not a virtio-gpio v1 device)";
		return -ENODEV;
	}
	ngpio = vgpio_cfg_le16(core, VGPIO_CFG_NGPIO);
	if (!ngpio) {
		*why = "device declares no lines";
		return -EINVAL;
	}
	if (ngpio > VGPIO_MAX_LINES) {
		*why = "device declares more lines than supported";
		return -EINVAL;
	}
	names_size = vgpio_cfg_le32(core, VGPIO_CFG_NAMES_SIZE);
	if (names_size > limit - VGPIO_CFG_LINE_NAMES) {
		*why = "line-names block extends beyond the config space";
		return -EINVAL;
	}
	core->ngpio = ngpio;
	vgpio_cfg_bytes(core, VGPIO_CFG_NAME, core->name, VGPIO_CFG_NAME_LEN);
	core->name[VGPIO_CFG_NAME_LEN] = '\0';

	*why = "out of memory";
	core->lines = vgpio_zalloc(ngpio * sizeof(*core->lines));
	core->line_names = vgpio_zalloc(ngpio * sizeof(*core->line_names));
	core->names_block = vgpio_zalloc(names_size + 1);
	if (!core->lines || !core->line_names || !core->names_block)
		return -ENOMEM;
	vgpio_cfg_bytes(core, VGPIO_CFG_LINE_NAMES, core->names_block,
			names_size);
	vgpio_parse_names(core, names_size);
	*why = NULL;
	return 0;
}

int vgpio_core_probe(const struct vgpio_host_ops *ops, void *ctx,
		     unsigned int cfg_size, struct vgpio_core **out,
		     const char **why)
{
	struct vgpio_core *core;
	unsigned int i;
	int ret;

	*out = NULL;
	*why = "out of memory";
	core = vgpio_zalloc(sizeof(*core));
	if (!core)
		return -ENOMEM;
	core->ops = ops;
	core->ctx = ctx;
	vgpio_lock_init(&core->lock);

	ret = vgpio_read_config(core, cfg_size, why);
	if (ret)
		goto fail;

	ret = -ENOMEM;
	*why = "out of memory";
	core->ntx = core->ngpio + VGPIO_TX_SPARE;
	core->rx = vgpio_alloc_slots(VGPIO_RX_BUFS, &core->rx_mem);
	core->tx = vgpio_alloc_slots(core->ntx, &core->tx_mem);
	core->tx_busy = vgpio_zalloc(core->ntx * sizeof(*core->tx_busy));
	if (!core->rx || !core->tx || !core->tx_busy)
		goto fail;
	for (i = 0; i < core->ngpio; i++)
		core->lines[i].level = -1;
	*why = NULL;
	*out = core;
	return 0;

fail:
	vgpio_core_destroy(core);
	return ret;
}

void vgpio_core_destroy(struct vgpio_core *core)
{
	if (!core)
		return;
	vgpio_free(core->tx_busy);
	vgpio_free(core->tx_mem);
	vgpio_free(core->rx_mem);
	vgpio_free(core->names_block);
	vgpio_free(core->line_names);
	vgpio_free(core->lines);
	vgpio_lock_destroy(&core->lock);
	vgpio_free(core);
}

int vgpio_core_start(struct vgpio_core *core)
{
	unsigned long flags = 0;
	unsigned int i;
	bool kick;

	vgpio_lock(&core->lock, flags);
	for (i = 0; i < VGPIO_RX_BUFS; i++) {
		if (core->ops->add_inbuf(core->ctx, VGPIO_VQ_RX, &core->rx[i],
					 sizeof(core->rx[i].msg)))
			break;
		core->rx_posted++;
	}
	kick = core->rx_posted && core->ops->kick_prepare(core->ctx,
							  VGPIO_VQ_RX);
	vgpio_unlock(&core->lock, flags);
	if (!core->rx_posted)
		return -ENOSPC;
	if (kick)
		core->ops->notify(core->ctx, VGPIO_VQ_RX);
	return 0;
}

void vgpio_core_kill(struct vgpio_core *core)
{
	unsigned long flags = 0;
	unsigned int i;

	vgpio_lock(&core->lock, flags);
	core->dead = true;
	for (i = 0; i < core->ngpio; i++) {
		struct vgpio_line *l = &core->lines[i];

		if (l->live && !l->done) {
			l->result = -ENODEV;
			l->done = true;
			l->killed = true;
		}
	}
	vgpio_unlock(&core->lock, flags);

	/* Only this function sets @killed, so reading it unlocked is safe. */
	for (i = 0; i < core->ngpio; i++) {
		if (core->lines[i].killed) {
			core->lines[i].killed = false;
			core->ops->wake(core->ctx, i);
		}
	}
}

bool vgpio_core_idle(struct vgpio_core *core)
{
	unsigned long flags = 0;
	bool idle;

	vgpio_lock(&core->lock, flags);
	idle = !core->users;
	vgpio_unlock(&core->lock, flags);
	return idle;
}

/* ------------------------------------------------------------------ */
/* Transmit path                                                        */

static void vgpio_tx_reclaim_locked(struct vgpio_core *core)
{
	unsigned int len;
	void *token;
	int idx;

	while ((token = core->ops->get_buf(core->ctx, VGPIO_VQ_TX, &len))) {
		idx = vgpio_slot_index(core->tx, core->ntx, token);
		if (idx < 0 || !core->tx_busy[idx]) {
			vgpio_reject(core, &core->stats.bad_token, -EFAULT);
			continue;
		}
		core->tx_busy[idx] = false;
		core->stats.tx_reclaimed++;
	}
}

void vgpio_tx_callback(struct vgpio_core *core)
{
	unsigned long flags = 0;

	vgpio_lock(&core->lock, flags);
	vgpio_tx_reclaim_locked(core);
	vgpio_unlock(&core->lock, flags);
}

/*
 * A request without side effects whose reply cannot be mistaken for a
 * stale one: the two queries, then REQUEST, which devices must accept
 * any number of times (spec, "Requests").
 */
static unsigned int vgpio_probe_type(u8 stale)
{
	static const u8 candidates[] = {
		VGPIO_MSG_GET_DIRECTION, VGPIO_MSG_GET_VALUE, VGPIO_MSG_REQUEST,
	};
	unsigned int i;

	for (i = 0; i < sizeof(candidates); i++)
		if (!(stale & (1u << candidates[i])))
			return candidates[i];
	return 0;
}

/*
 * Queue one message for @line. When a reply of the same type is still
 * owed for an abandoned request, the reply to a new one could not be told
 * from it; send a probe of another type instead (see vgpio_handle_reply).
 */
static int vgpio_send(struct vgpio_core *core, unsigned int line,
		      unsigned int type, u32 value)
{
	struct vgpio_line *l = &core->lines[line];
	unsigned long flags = 0;
	struct vgpio_msg *msg;
	unsigned int i;
	bool kick;
	int ret;

	vgpio_lock(&core->lock, flags);
	if (core->dead) {
		ret = -ENODEV;
		goto out;
	}
	if (l->live) {
		ret = -EBUSY;
		goto out;
	}
	l->probe = false;
	if (l->stale & (1u << type)) {
		type = vgpio_probe_type(l->stale);
		value = 0;
		l->probe = true;
		if (!type) {
			ret = -EBUSY;
			goto out;
		}
		core->stats.resyncs++;
	}

	vgpio_tx_reclaim_locked(core);
	for (i = 0; i < core->ntx && core->tx_busy[i]; i++)
		;
	if (i == core->ntx) {
		ret = -ENOSPC;
		goto out;
	}
	msg = &core->tx[i].msg;
	msg->type = cpu_to_le16(type);
	msg->line = cpu_to_le16(line);
	msg->value = cpu_to_le32(value);
	ret = core->ops->add_outbuf(core->ctx, VGPIO_VQ_TX, msg, sizeof(*msg));
	if (ret)
		goto out;
	core->tx_busy[i] = true;
	l->live = type;
	l->done = false;
	kick = core->ops->kick_prepare(core->ctx, VGPIO_VQ_TX);
	vgpio_unlock(&core->lock, flags);
	if (kick)
		core->ops->notify(core->ctx, VGPIO_VQ_TX);
	return 0;
out:
	vgpio_unlock(&core->lock, flags);
	return ret;
}

/*
 * Collect the answer after @wait returned @wait_ret. A request whose
 * reply has not come is abandoned: its type is remembered as owed, so a
 * late reply is dropped instead of answering a newer request.
 */
static int vgpio_collect(struct vgpio_core *core, unsigned int line,
			 int wait_ret, s32 *result, bool *probe)
{
	struct vgpio_line *l = &core->lines[line];
	unsigned long flags = 0;
	int ret = 0;

	vgpio_lock(&core->lock, flags);
	*probe = l->probe;
	if (l->done) {
		*result = l->result;
	} else {
		l->stale |= 1u << l->live;
		core->stats.timeouts++;
		ret = wait_ret ? wait_ret : -EIO;
	}
	l->live = 0;
	l->done = false;
	vgpio_unlock(&core->lock, flags);
	return ret;
}

int vgpio_request(struct vgpio_core *core, unsigned int line,
		  unsigned int type, u32 value, u32 *result)
{
	unsigned long flags = 0;
	bool probe = false;
	int attempt, ret;
	s32 res = 0;

	if (line >= core->ngpio || !vgpio_is_request(type))
		return -EINVAL;
	if (vgpio_takes_level(type) && value > 1)
		return -EINVAL;

	vgpio_lock(&core->lock, flags);
	if (core->dead) {
		vgpio_unlock(&core->lock, flags);
		return -ENODEV;
	}
	core->users++;
	vgpio_unlock(&core->lock, flags);

	/* A probe clears every owed reply, so one retry always suffices. */
	for (attempt = 0; attempt < 2; attempt++) {
		ret = vgpio_send(core, line, type, value);
		if (ret)
			break;
		ret = core->ops->wait(core->ctx, core, line);
		ret = vgpio_collect(core, line, ret, &res, &probe);
		if (ret || !probe)
			break;
		ret = -EIO;
	}
	if (!ret && res < 0)
		ret = res;
	else if (!ret && result)
		*result = res;

	vgpio_lock(&core->lock, flags);
	core->users--;
	vgpio_unlock(&core->lock, flags);
	return ret;
}

bool vgpio_line_done(struct vgpio_core *core, unsigned int line)
{
	unsigned long flags = 0;
	bool done;

	if (line >= core->ngpio)
		return true;
	vgpio_lock(&core->lock, flags);
	done = core->lines[line].done;
	vgpio_unlock(&core->lock, flags);
	return done;
}

/* ------------------------------------------------------------------ */
/* Receive path                                                         */

/*
 * Devices answer the requests of one line in order, exactly once each
 * (spec, "Data flow"). So a reply of a type still owed for an abandoned
 * request is that late reply; and once the live request is answered,
 * every request sent before it has been answered or was dropped.
 */
static void vgpio_handle_reply(struct vgpio_core *core, unsigned int type,
			       unsigned int line, s32 value,
			       struct vgpio_rx_action *act)
{
	struct vgpio_line *l = &core->lines[line];
	u8 bit = 1u << type;

	if (!vgpio_reply_value_ok(type, value)) {
		vgpio_drop(core, act, &core->stats.bad_value, -EINVAL,
			   "reply value out of range");
		return;
	}
	if (l->stale & bit) {
		l->stale &= ~bit;
		core->stats.late_replies++;
		return;
	}
	if (l->live != type || l->done) {
		vgpio_drop(core, act, &core->stats.unexpected, -ENOMSG,
			   "reply without a matching request");
		return;
	}
	l->stale = 0;
	l->result = value;
	l->done = true;
	core->stats.replies++;
	act->wake = line;
}

static bool vgpio_edge_fires(const struct vgpio_line *l, int level)
{
	if (!l->irq_enabled || l->level == level)
		return false;
	if (level)
		return l->irq_type & VGPIO_IRQ_EDGE_RISING;
	return l->irq_type & VGPIO_IRQ_EDGE_FALLING;
}

static void vgpio_handle_event(struct vgpio_core *core, unsigned int line,
			       s32 value, struct vgpio_rx_action *act)
{
	struct vgpio_line *l = &core->lines[line];

	if (value != 0 && value != 1) {
		vgpio_drop(core, act, &core->stats.bad_value, -EINVAL,
			   "event level out of range");
		return;
	}
	core->stats.events++;
	/* After vgpio_core_kill() the irq domain may be going away. */
	if (!core->dead && vgpio_edge_fires(l, value)) {
		core->stats.irqs++;
		act->irq = line;
	}
	l->level = value;
}

static void vgpio_handle_msg(struct vgpio_core *core,
			     const struct vgpio_msg *msg, u32 len,
			     struct vgpio_rx_action *act)
{
	unsigned int type, line;
	s32 value;

	if (len < sizeof(*msg)) {
		vgpio_drop(core, act, &core->stats.bad_len, -EBADMSG,
			   "message shorter than 8 bytes");
		return;
	}
	if (len > sizeof(*msg)) {
		vgpio_drop(core, act, &core->stats.bad_len, -EMSGSIZE,
			   "message longer than its buffer");
		return;
	}
	type = le16_to_cpu(msg->type);
	line = le16_to_cpu(msg->line);
	value = (s32)le32_to_cpu(msg->value);

	if (type != VGPIO_MSG_HOST_LEVEL &&
	    (!(type & VGPIO_MSG_REPLY) || (type & VGPIO_MSG_RESERVED) ||
	     !vgpio_is_request(type & ~VGPIO_MSG_REPLY))) {
		vgpio_drop(core, act, &core->stats.bad_type, -EPROTO,
			   "unknown message type");
		return;
	}
	if (line >= core->ngpio) {
		vgpio_drop(core, act, &core->stats.bad_line, -ERANGE,
			   "line number beyond ngpio");
		return;
	}
	if (type == VGPIO_MSG_HOST_LEVEL)
		vgpio_handle_event(core, line, value, act);
	else
		vgpio_handle_reply(core, type & ~VGPIO_MSG_REPLY, line, value,
				   act);
}

void vgpio_rx_callback(struct vgpio_core *core)
{
	const struct vgpio_host_ops *ops = core->ops;
	bool reposted = false, kick;
	unsigned long flags = 0;

	for (;;) {
		struct vgpio_rx_action act = { .wake = -1, .irq = -1 };
		struct vgpio_msg msg;
		unsigned int len;
		void *token;
		int idx;

		vgpio_lock(&core->lock, flags);
		token = ops->get_buf(core->ctx, VGPIO_VQ_RX, &len);
		if (!token) {
			vgpio_unlock(&core->lock, flags);
			break;
		}
		idx = vgpio_slot_index(core->rx, VGPIO_RX_BUFS, token);
		if (idx < 0) {
			vgpio_drop(core, &act, &core->stats.bad_token, -EFAULT,
				   "used buffer that is not ours");
			vgpio_unlock(&core->lock, flags);
			ops->rejected(core->ctx, act.err, act.why);
			continue;
		}
		/* Copy out first: the buffer goes straight back to the device. */
		memcpy(&msg, &core->rx[idx].msg, sizeof(msg));
		if (ops->add_inbuf(core->ctx, VGPIO_VQ_RX, &core->rx[idx],
				   sizeof(core->rx[idx].msg))) {
			core->stats.rx_repost_failed++;
			core->rx_posted--;
		} else {
			reposted = true;
		}
		vgpio_handle_msg(core, &msg, len, &act);
		vgpio_unlock(&core->lock, flags);

		if (act.wake >= 0)
			ops->wake(core->ctx, act.wake);
		if (act.irq >= 0)
			ops->irq(core->ctx, act.irq);
		if (act.err)
			ops->rejected(core->ctx, act.err, act.why);
	}

	if (!reposted)
		return;
	vgpio_lock(&core->lock, flags);
	kick = ops->kick_prepare(core->ctx, VGPIO_VQ_RX);
	vgpio_unlock(&core->lock, flags);
	if (kick)
		ops->notify(core->ctx, VGPIO_VQ_RX);
}

/* ------------------------------------------------------------------ */
/* Interrupt configuration and accessors                                */

int vgpio_irq_set_type(struct vgpio_core *core, unsigned int line,
		       unsigned int type)
{
	unsigned long flags = 0;

	if (line >= core->ngpio || type > VGPIO_IRQ_EDGE_BOTH)
		return -EINVAL;
	vgpio_lock(&core->lock, flags);
	core->lines[line].irq_type = type;
	vgpio_unlock(&core->lock, flags);
	return 0;
}

int vgpio_irq_enable(struct vgpio_core *core, unsigned int line,
		     bool enable)
{
	unsigned long flags = 0;

	if (line >= core->ngpio)
		return -EINVAL;
	vgpio_lock(&core->lock, flags);
	core->lines[line].irq_enabled = enable;
	vgpio_unlock(&core->lock, flags);
	return 0;
}

int vgpio_line_level(struct vgpio_core *core, unsigned int line)
{
	unsigned long flags = 0;
	int level;

	if (line >= core->ngpio)
		return -EINVAL;
	vgpio_lock(&core->lock, flags);
	level = core->lines[line].level;
	vgpio_unlock(&core->lock, flags);
	return level;
}

unsigned int vgpio_core_ngpio(const struct vgpio_core *core)
{
	return core->ngpio;
}

const char *vgpio_core_name(const struct vgpio_core *core)
{
	return core->name;
}

const char *const *vgpio_core_line_names(const struct vgpio_core *core)
{
	return core->line_names;
}

const struct vgpio_stats *vgpio_core_stats(const struct vgpio_core *core)
{
	return &core->stats;
}

int vgpio_core_last_error(const struct vgpio_core *core)
{
	return core->last_error;
}
