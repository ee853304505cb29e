// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Portable core of the virtio-gpio guest driver, the protocol-neutral
 * part: probe, lifetime, the request-slot pool, sending a request and
 * waiting for its answer, and the interrupt state the kernel drives. What
 * goes on the wire, and every check of what comes back, is in
 * vgpio_id30.c and vgpio_std.c.
 *
 * The device is never trusted: lengths, line numbers, types, values and
 * buffer tokens coming back from it are checked before use, and a bad
 * message is counted and dropped without touching any other request.
 */
#include "vgpio_core_priv.h"

/*
 * Allocate @size bytes starting on a cache line of their own. kmalloc only
 * guarantees natural alignment for power-of-two sizes, so align by hand
 * and keep the raw pointer for freeing.
 */
void *vgpio_alloc_dma(unsigned int size, void **raw)
{
	unsigned long addr;

	*raw = vgpio_zalloc(size + VGPIO_DMA_ALIGN - 1);
	if (!*raw)
		return NULL;
	addr = (unsigned long)*raw;
	addr = (addr + VGPIO_DMA_ALIGN - 1) &
	       ~(unsigned long)(VGPIO_DMA_ALIGN - 1);
	return (void *)addr;
}

/* Map a token the device handed back to an element of @base, or -1. */
int vgpio_token_index(const void *base, unsigned int stride, unsigned int n,
		      const void *token)
{
	unsigned long off = (unsigned long)token - (unsigned long)base;

	if ((unsigned long)token < (unsigned long)base ||
	    off % stride || off / stride >= n)
		return -1;
	return off / stride;
}

void vgpio_reject(struct vgpio_core *core, u32 *counter, int err)
{
	(*counter)++;
	core->last_error = err;
}

/* A dropped device message, also reported to the host once unlocked. */
void vgpio_drop(struct vgpio_core *core, struct vgpio_rx_action *act,
		u32 *counter, int err, const char *why)
{
	vgpio_reject(core, counter, err);
	act->err = err;
	act->why = why;
}

/* Carry out, without the lock, what a queue callback decided under it. */
void vgpio_act(struct vgpio_core *core, const struct vgpio_rx_action *act)
{
	if (act->wake >= 0)
		core->ops->wake(core->ctx, act->wake);
	if (act->irq >= 0)
		core->ops->irq(core->ctx, act->irq);
	if (act->err)
		core->ops->rejected(core->ctx, act->err, act->why);
}

/* The live request of @line has its answer; wake its caller. */
void vgpio_complete(struct vgpio_core *core, unsigned int line, s32 result,
		    struct vgpio_rx_action *act)
{
	struct vgpio_line *l = &core->lines[line];

	l->result = result;
	l->done = true;
	core->stats.replies++;
	act->wake = line;
}

void vgpio_kick(struct vgpio_core *core, unsigned int vq, bool kick)
{
	if (kick)
		core->ops->notify(core->ctx, vq);
}

/* Under the lock: re-arm @line's interrupt if due; true to kick. */
bool vgpio_irq_arm_locked(struct vgpio_core *core, unsigned int line)
{
	return core->proto->irq_arm && core->proto->irq_arm(core, line) &&
	       core->ops->kick_prepare(core->ctx, core->proto->irq_vq);
}

/*
 * Drain every used buffer of @vq: @one judges each under the lock and
 * says whether it posted a buffer on @vq again; what it decided is
 * carried out unlocked. After an interrupt handler ran, the line is
 * re-armed if it is still wanted: an edge handler leaves it unmasked, a
 * level handler that masked it gets it back at the bus sync after its
 * thread unmasks (vgpio_irq_sync()). One kick at the end covers every
 * buffer posted on @vq. Any used buffer ends a silence: the device
 * answers again.
 */
void vgpio_drain(struct vgpio_core *core, unsigned int vq,
		 bool (*one)(struct vgpio_core *core, void *token, u32 len,
			     struct vgpio_rx_action *act))
{
	unsigned long flags = 0;
	bool posted = false, kick;

	for (;;) {
		struct vgpio_rx_action act = VGPIO_RX_ACTION_INIT;
		bool back = false;
		unsigned int len;
		void *token;

		vgpio_lock(&core->lock, flags);
		token = core->ops->get_buf(core->ctx, vq, &len);
		if (token) {
			back = core->silent;
			core->silent = false;
			core->ping_pending = false;
			posted |= one(core, token, len, &act);
		}
		vgpio_unlock(&core->lock, flags);
		if (!token)
			break;
		if (back && core->ops->silent)
			core->ops->silent(core->ctx, false);
		/* The handler's own unmask needs no deferred arm: see below. */
		WRITE_ONCE(core->irq_handling, act.irq);
		vgpio_act(core, &act);
		WRITE_ONCE(core->irq_handling, -1);
		if (act.irq >= 0 && core->proto->irq_arm) {
			vgpio_lock(&core->lock, flags);
			posted |= core->proto->irq_arm(core, act.irq);
			vgpio_unlock(&core->lock, flags);
		}
	}
	if (!posted)
		return;
	vgpio_lock(&core->lock, flags);
	kick = core->ops->kick_prepare(core->ctx, vq);
	vgpio_unlock(&core->lock, flags);
	vgpio_kick(core, vq, kick);
}

/* ------------------------------------------------------------------ */
/* Config space                                                         */

u8 vgpio_cfg_u8(struct vgpio_core *core, unsigned int off)
{
	u8 v = 0;

	core->ops->cfg_get(core->ctx, off, &v, sizeof(v));
	return v;
}

u16 vgpio_cfg_le16(struct vgpio_core *core, unsigned int off)
{
	__le16 v = 0;

	core->ops->cfg_get(core->ctx, off, &v, sizeof(v));
	return le16_to_cpu(v);
}

u32 vgpio_cfg_le32(struct vgpio_core *core, unsigned int off)
{
	__le32 v = 0;

	core->ops->cfg_get(core->ctx, off, &v, sizeof(v));
	return le32_to_cpu(v);
}

void vgpio_cfg_bytes(struct vgpio_core *core, unsigned int off, char *buf,
		     unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		core->ops->cfg_get(core->ctx, off + i, &buf[i], 1);
}

/* The line count both protocols declare, against the protocol's @max. */
int vgpio_check_ngpio(u16 ngpio, unsigned int max, const char **why)
{
	if (!ngpio) {
		*why = "device declares no lines";
		return -EINVAL;
	}
	if (ngpio > max) {
		*why = "device declares more lines than supported";
		return -EINVAL;
	}
	return 0;
}

/*
 * Whether a name from the device may be handed to the kernel. Line names
 * become gc->names: 6.1's gpiod_export() passes one as the printf format
 * of the sysfs device it creates (so '%' reads kernel memory), '/' cannot
 * be in a sysfs name, and control bytes in a name forge log lines.
 * Printable ASCII but for those two is what the kernel can take as it is.
 */
bool vgpio_name_ok(const char *name)
{
	const unsigned char *c;

	for (c = (const unsigned char *)name; *c; c++)
		if (*c < 0x20 || *c > 0x7e || *c == '%' || *c == '/')
			return false;
	return true;
}

/*
 * Split the names block into ngpio names. The block is NUL-terminated by
 * its owner one byte past its end, so a missing final NUL is harmless;
 * empty names, names vgpio_name_ok() refuses and missing trailing names
 * leave NULL entries; extra names are ignored.
 */
void vgpio_parse_names(struct vgpio_core *core, u32 size)
{
	unsigned int idx = 0;
	bool refused = false;
	u32 pos = 0;

	while (idx < core->ngpio && pos < size) {
		const char *s = core->names_block + pos;
		u32 len = strnlen(s, size - pos);
		bool ok = vgpio_name_ok(s);

		refused |= !ok;
		core->line_names[idx++] = len && ok ? s : NULL;
		pos += len + 1;
	}
	if (refused)
		core->ops->rejected(core->ctx, -EINVAL,
				    "line names holding '%', '/' or unprintable bytes left out");
}

/* ------------------------------------------------------------------ */
/* Lifetime                                                             */

static const struct vgpio_proto *vgpio_pick_proto(unsigned int device_id,
						  enum vgpio_protocol *which)
{
	switch (device_id) {
	case VGPIO_ID30_DEVICE_ID:
		*which = VGPIO_PROTOCOL_ID30;
		return &vgpio_id30_proto;
	case VGPIO_STD_DEVICE_ID:
		*which = VGPIO_PROTOCOL_STANDARD;
		return &vgpio_std_proto;
	default:
		return NULL;
	}
}

static u32 vgpio_cfg_generation(const struct vgpio_host_ops *ops, void *ctx)
{
	return ops->cfg_generation ? ops->cfg_generation(ctx) : 0;
}

/*
 * A fresh core with the device's config read in one piece: the config
 * generation the same before and after, so no field comes from before a
 * change and another from after it. A read the generation says was torn
 * is tried again whether or not it passed the checks: a torn read can
 * fail them for a config that is fine. NULL with *ret and *why set when
 * the config is refused or kept changing.
 */
static struct vgpio_core *vgpio_core_read(const struct vgpio_host_ops *ops,
					  void *ctx,
					  const struct vgpio_dev_info *info,
					  const struct vgpio_proto *proto,
					  int *ret, const char **why)
{
	struct vgpio_core *core;
	unsigned int try;
	u32 generation;

	for (try = 0; try < VGPIO_CFG_TRIES; try++) {
		*ret = -ENOMEM;
		*why = "out of memory";
		core = vgpio_zalloc(sizeof(*core));
		if (!core)
			return NULL;
		core->ops = ops;
		core->ctx = ctx;
		core->proto = proto;
		core->irq_handling = -1;
		vgpio_lock_init(&core->lock);
		generation = vgpio_cfg_generation(ops, ctx);
		*ret = proto->read_config(core, info, why);
		if (vgpio_cfg_generation(ops, ctx) == generation) {
			if (!*ret)
				return core;
			vgpio_core_destroy(core);
			return NULL;
		}
		vgpio_core_destroy(core);
	}
	*ret = -EIO;
	*why = "config space kept changing while it was read";
	return NULL;
}

int vgpio_core_probe(const struct vgpio_host_ops *ops, void *ctx,
		     const struct vgpio_dev_info *info,
		     struct vgpio_core **out, const char **why)
{
	const struct vgpio_proto *proto;
	enum vgpio_protocol which;
	struct vgpio_core *core;
	unsigned int i;
	int ret;

	*out = NULL;
	proto = vgpio_pick_proto(info->device_id, &which);
	if (!proto) {
		*why = "device ID is neither 30 (2020 proposal) nor 41 (standard)";
		return -ENODEV;
	}
	core = vgpio_core_read(ops, ctx, info, proto, &ret, why);
	if (!core)
		return ret;
	core->protocol = which;

	ret = -ENOMEM;
	*why = "out of memory";
	core->ntx = (core->ngpio < VGPIO_TX_LINES ? core->ngpio :
						    VGPIO_TX_LINES) +
		    VGPIO_TX_SPARE;
	core->lines = vgpio_zalloc_array(core->ngpio, sizeof(*core->lines));
	core->line_names = vgpio_zalloc_array(core->ngpio,
					      sizeof(*core->line_names));
	core->tx = vgpio_alloc_dma(core->ntx * sizeof(*core->tx),
				   &core->tx_mem);
	core->tx_state = vgpio_zalloc(core->ntx * sizeof(*core->tx_state));
	if (!core->lines || !core->line_names || !core->tx || !core->tx_state)
		goto fail;
	for (i = 0; i < core->ngpio; i++) {
		core->lines[i].level = -1;
		core->lines[i].slot = -1;
	}
	core->irq_lines = core->ngpio;
	if (core->names_block)
		vgpio_parse_names(core, core->names_size);
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
	vgpio_free(core->irq_mem);
	vgpio_free(core->tx_state);
	vgpio_free(core->tx_mem);
	vgpio_free(core->rx_mem);
	vgpio_free(core->names_mem);
	vgpio_free(core->line_names);
	vgpio_free(core->lines);
	vgpio_lock_destroy(&core->lock);
	vgpio_free(core);
}

int vgpio_core_start(struct vgpio_core *core)
{
	return core->proto->start(core);
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

void vgpio_core_quiesce(struct vgpio_core *core)
{
	unsigned long flags = 0;

	vgpio_lock(&core->lock, flags);
	core->quiesced = true;
	vgpio_unlock(&core->lock, flags);
}

void vgpio_core_detach(struct vgpio_core *core)
{
	unsigned long flags = 0;

	vgpio_lock(&core->lock, flags);
	core->detached = true;
	vgpio_unlock(&core->lock, flags);
}

/*
 * The device was reset: it holds none of the old queues' buffers, owes
 * no reply, has not been silent, and is in its initial state, as at
 * probe: no trigger type, and (standard) no direction. The 2020 spec
 * names no initial direction: an ID 30 line's is unknown.
 */
static void vgpio_forget_device(struct vgpio_core *core)
{
	unsigned int i;

	memset(core->tx_state, 0, core->ntx * sizeof(*core->tx_state));
	core->rx_posted = 0;
	for (i = 0; i < core->ngpio; i++) {
		struct vgpio_line *l = &core->lines[i];

		l->live = 0;
		l->probe = false;
		l->done = false;
		l->killed = false;
		l->slot = -1;
		l->stale = 0;
		l->irq_queued = false;
		l->irq_rearmed = false;
		l->dev_irq_type = VGPIO_IRQ_NONE;
		l->dev_dir = core->protocol == VGPIO_PROTOCOL_STANDARD ?
			     VGPIO_STD_DIRECTION_NONE : VGPIO_DEV_DIR_UNKNOWN;
		l->level = -1;
	}
	core->silent = false;
	core->ping_pending = false;
}

/* Tell the reset device what the consumers of @line had set. */
static int vgpio_replay_line(struct vgpio_core *core, unsigned int line)
{
	struct vgpio_line *l = &core->lines[line];
	s32 res;
	int ret = 0;

	if (l->requested)
		ret = core->proto->op(core, line, VGPIO_OP_REQUEST, 0, &res);
	if (!ret && l->cfg_dir == VGPIO_DIR_OUT)
		ret = core->proto->op(core, line, VGPIO_OP_DIRECTION_OUTPUT,
				      l->out_value, &res);
	else if (!ret && l->cfg_dir == VGPIO_DIR_IN)
		ret = core->proto->op(core, line, VGPIO_OP_DIRECTION_INPUT, 0,
				      &res);
	if (!ret && READ_ONCE(l->irq_enabled) && core->proto->irq_sync)
		ret = core->proto->irq_sync(core, line);
	return ret;
}

/*
 * No caller is inside (the core was quiesced and the host waited), so
 * the replay has every line to itself.
 */
int vgpio_core_resume(struct vgpio_core *core)
{
	unsigned long flags = 0;
	unsigned int line;
	int ret, first = 0;

	vgpio_lock(&core->lock, flags);
	vgpio_forget_device(core);
	core->detached = false;
	vgpio_unlock(&core->lock, flags);
	if (core->proto->restart) {
		ret = core->proto->restart(core);
		if (ret)
			return ret;
	}
	for (line = 0; line < core->ngpio; line++) {
		ret = vgpio_replay_line(core, line);
		if (!ret)
			continue;
		if (!first)
			first = ret;
		/* A device that does not answer, or going away: no more. */
		if (ret == -ETIMEDOUT || ret == -EINTR || ret == -ENODEV)
			break;
	}
	vgpio_lock(&core->lock, flags);
	core->quiesced = false;
	vgpio_unlock(&core->lock, flags);
	return first;
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
/* Requests                                                             */

/*
 * Under the lock: post one request for @line in a free slot, its response
 * (if the protocol answers in the chain) in @in or, when NULL, the slot's
 * own. The slot index, or a negative errno.
 */
int vgpio_post(struct vgpio_core *core, unsigned int line, unsigned int type,
	       u32 value, void *in, unsigned int in_len)
{
	struct vgpio_msg *msg;
	unsigned int i;
	int ret;

	for (i = 0; i < core->ntx && core->tx_state[i].busy; i++)
		;
	if (i == core->ntx)
		return -ENOSPC;
	msg = &core->tx[i].msg;
	msg->type = cpu_to_le16(type);
	msg->line = cpu_to_le16(line);
	msg->value = cpu_to_le32(value);
	if (in_len && !in)
		in = &core->tx[i].resp;
	ret = core->ops->add_chain(core->ctx, core->proto->req_vq, msg,
				   sizeof(*msg), in_len ? in : NULL, in_len,
				   &core->tx[i]);
	if (ret)
		return ret;
	core->tx_state[i] = (struct vgpio_slot_state){
		.busy = true, .line = line, .type = type, .in_len = in_len,
	};
	return i;
}

/*
 * Queue one request for @line in a free slot. While the device is
 * silent nothing goes out: the caller fails at once instead of paying
 * another timeout.
 */
static int vgpio_send(struct vgpio_core *core, unsigned int line,
		      const struct vgpio_xfer *x)
{
	struct vgpio_line *l = &core->lines[line];
	unsigned int type = x->type;
	unsigned long flags = 0;
	u32 value = x->value;
	bool kick;
	int ret;

	vgpio_lock(&core->lock, flags);
	if (core->dead) {
		ret = -ENODEV;
		goto out;
	}
	if (core->detached) {
		ret = -ESHUTDOWN;
		goto out;
	}
	if (core->silent) {
		core->stats.silent_fails++;
		ret = -ETIMEDOUT;
		goto out;
	}
	if (l->live) {
		ret = -EBUSY;
		goto out;
	}
	if (core->proto->prepare) {
		ret = core->proto->prepare(core, l, &type, &value);
		if (ret)
			goto out;
	}
	ret = vgpio_post(core, line, type, value, x->in, x->in_len);
	if (ret < 0)
		goto out;
	l->live = type;
	l->slot = ret;
	l->done = false;
	kick = core->ops->kick_prepare(core->ctx, core->proto->req_vq);
	vgpio_unlock(&core->lock, flags);
	vgpio_kick(core, core->proto->req_vq, kick);
	return 0;
out:
	vgpio_unlock(&core->lock, flags);
	return ret;
}

/*
 * Under the lock: a wait timed out, so the device answers nothing. Later
 * requests fail at once (vgpio_send()) until it uses a buffer again
 * (vgpio_drain()). A ping goes out too: a device that lost only the
 * request answers it at once and ends the silence. True when the device
 * just fell silent; *kick when the ping needs a notification.
 */
static bool vgpio_fall_silent(struct vgpio_core *core, unsigned int line,
			      bool *kick)
{
	bool fell = !core->silent;

	if (fell) {
		core->silent = true;
		core->stats.silences++;
	}
	if (!core->ping_pending && core->proto->ping &&
	    core->proto->ping(core, line)) {
		core->ping_pending = true;
		core->stats.pings++;
		*kick = core->ops->kick_prepare(core->ctx,
						core->proto->req_vq);
	}
	return fell;
}

/*
 * Collect the answer after @wait returned @wait_ret. A request whose
 * answer has not come is abandoned; the protocol makes sure its late
 * answer can never be taken for a newer request's.
 */
static int vgpio_collect(struct vgpio_core *core, unsigned int line,
			 int wait_ret, s32 *result)
{
	struct vgpio_line *l = &core->lines[line];
	bool fell = false, kick = false;
	unsigned long flags = 0;
	int ret = 0;

	vgpio_lock(&core->lock, flags);
	if (l->done) {
		*result = l->result;
	} else {
		if (core->proto->abandon)
			core->proto->abandon(core, l);
		core->stats.timeouts++;
		ret = wait_ret ? wait_ret : -EIO;
	}
	/*
	 * Still with the device (abandoned, or failed by kill): freed when it
	 * comes back. An ID 30 slot may already be back and reused by another
	 * line, hence the line check.
	 */
	if (l->slot >= 0 && core->tx_state[l->slot].busy &&
	    core->tx_state[l->slot].line == line)
		core->tx_state[l->slot].orphan = true;
	l->live = 0;
	l->slot = -1;
	l->done = false;
	if (ret == -ETIMEDOUT && !core->dead)
		fell = vgpio_fall_silent(core, line, &kick);
	vgpio_unlock(&core->lock, flags);
	/* Told before the ping goes out, so before its answer is. */
	if (fell && core->ops->silent)
		core->ops->silent(core->ctx, true);
	vgpio_kick(core, core->proto->req_vq, kick);
	return ret;
}

/* Send one request and wait for its answer: a result or a -errno. */
int vgpio_xfer(struct vgpio_core *core, unsigned int line,
	       const struct vgpio_xfer *x, s32 *res)
{
	int ret;

	ret = vgpio_send(core, line, x);
	if (ret)
		return ret;
	ret = core->ops->wait(core->ctx, core, line);
	ret = vgpio_collect(core, line, ret, res);
	if (!ret && *res < 0)
		ret = *res;
	return ret;
}

/* A caller enters the core; kill() makes later ones fail at once. */
static int vgpio_enter(struct vgpio_core *core)
{
	unsigned long flags = 0;
	int ret = 0;

	vgpio_lock(&core->lock, flags);
	if (core->dead)
		ret = -ENODEV;
	else if (core->quiesced)
		ret = -ESHUTDOWN;
	else
		core->users++;
	vgpio_unlock(&core->lock, flags);
	return ret;
}

static void vgpio_leave(struct vgpio_core *core)
{
	unsigned long flags = 0;

	vgpio_lock(&core->lock, flags);
	core->users--;
	vgpio_unlock(&core->lock, flags);
}

/*
 * What a consumer set on @line, for vgpio_core_resume() to tell a reset
 * device again. A direction that failed to be set may or may not have
 * been applied: none is replayed. The standard protocol forgets the
 * direction itself where a FREE tells the device (vgpio_std_op()).
 */
static void vgpio_record(struct vgpio_core *core, unsigned int line,
			 unsigned int op, u32 value, int ret)
{
	struct vgpio_line *l = &core->lines[line];

	switch (op) {
	case VGPIO_OP_REQUEST:
		if (!ret)
			l->requested = true;
		break;
	case VGPIO_OP_FREE:
		if (!ret)
			l->requested = false;
		break;
	case VGPIO_OP_DIRECTION_INPUT:
		l->cfg_dir = ret ? VGPIO_DIR_UNKNOWN : VGPIO_DIR_IN;
		break;
	case VGPIO_OP_DIRECTION_OUTPUT:
		l->cfg_dir = ret ? VGPIO_DIR_UNKNOWN : VGPIO_DIR_OUT;
		if (!ret) {
			l->out_value = value;
			l->out_driven = true;
		}
		break;
	case VGPIO_OP_SET_VALUE:
		if (!ret) {
			l->out_value = value;
			l->out_driven = true;
		}
		break;
	default:
		break;
	}
}

int vgpio_request(struct vgpio_core *core, unsigned int line,
		  unsigned int op, u32 value, u32 *result)
{
	s32 res = 0;
	int ret;

	if (line >= core->ngpio || op < VGPIO_OP_REQUEST || op > VGPIO_OP_LAST)
		return -EINVAL;
	if ((op == VGPIO_OP_DIRECTION_OUTPUT || op == VGPIO_OP_SET_VALUE) &&
	    value > 1)
		return -EINVAL;
	ret = vgpio_enter(core);
	if (ret)
		return ret;
	ret = core->proto->op(core, line, op, value, &res);
	vgpio_record(core, line, op, value, ret);
	if (!ret && result)
		*result = res;
	vgpio_leave(core);
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

void vgpio_vq_callback(struct vgpio_core *core, unsigned int vq)
{
	if (vq < core->num_vqs)
		core->proto->vq_done(core, vq);
}

/* ------------------------------------------------------------------ */
/* Interrupt configuration                                              */

unsigned int vgpio_core_irq_lines(const struct vgpio_core *core)
{
	return core->irq_lines;
}

unsigned int vgpio_core_irq_types(const struct vgpio_core *core)
{
	return core->proto->irq_types(core);
}

/*
 * The three below are what the irq_chip's set_type, enable, disable, mask
 * and unmask do. The kernel calls those under the irq descriptor's raw
 * spinlock, where neither the core's lock (a spinlock_t, sleeping on
 * PREEMPT_RT) nor a virtqueue operation (mapping takes a spinlock_t) is
 * allowed: so they only record what is wanted, each line's fields
 * written by that line's callbacks alone. What the device must hear is
 * carried out later with the lock: by vgpio_irq_sync() (bus sync unlock),
 * after a handler ran by vgpio_drain(), and for an unmask outside both by
 * vgpio_irq_arm_pending(), which the host runs when asked (@arm_later).
 */
int vgpio_irq_set_type(struct vgpio_core *core, unsigned int line,
		       unsigned int type)
{
	unsigned int supported = vgpio_core_irq_types(core);

	if (line >= core->ngpio)
		return -EINVAL;
	switch (type) {
	case VGPIO_IRQ_NONE:
	case VGPIO_IRQ_EDGE_RISING:
	case VGPIO_IRQ_EDGE_FALLING:
	case VGPIO_IRQ_EDGE_BOTH:
	case VGPIO_IRQ_LEVEL_HIGH:
	case VGPIO_IRQ_LEVEL_LOW:
		break;
	default:
		return -EINVAL;
	}
	if (type & ~supported)
		return -EOPNOTSUPP;
	if (type != VGPIO_IRQ_NONE && line >= core->irq_lines)
		return -ENOSPC;
	WRITE_ONCE(core->lines[line].irq_type, type);
	return 0;
}

/*
 * A line that became wanted outside a bus sync and outside its own
 * handler (whose drain re-arms it) gets its buffer from the host's
 * deferred call; a bus-synced one gets it twice over, which is harmless.
 */
static void vgpio_irq_wanted_again(struct vgpio_core *core, unsigned int line)
{
	if (core->proto->irq_arm && core->ops->arm_later &&
	    READ_ONCE(core->irq_handling) != (int)line)
		core->ops->arm_later(core->ctx);
}

int vgpio_irq_enable(struct vgpio_core *core, unsigned int line,
		     bool enable)
{
	if (line >= core->ngpio)
		return -EINVAL;
	WRITE_ONCE(core->lines[line].irq_enabled, enable);
	WRITE_ONCE(core->lines[line].irq_masked, !enable);
	if (enable)
		vgpio_irq_wanted_again(core, line);
	return 0;
}

int vgpio_irq_mask(struct vgpio_core *core, unsigned int line, bool masked)
{
	if (line >= core->ngpio)
		return -EINVAL;
	WRITE_ONCE(core->lines[line].irq_masked, masked);
	if (!masked)
		vgpio_irq_wanted_again(core, line);
	return 0;
}

int vgpio_irq_arm_pending(struct vgpio_core *core)
{
	unsigned long flags = 0;
	unsigned int line;
	bool kick = false;
	int ret = 0;

	if (!core->proto->irq_arm)
		return 0;
	for (line = 0; line < core->irq_lines; line++) {
		vgpio_lock(&core->lock, flags);
		core->irq_arm_error = 0;
		kick |= vgpio_irq_arm_locked(core, line);
		if (core->irq_arm_error)
			ret = core->irq_arm_error;
		vgpio_unlock(&core->lock, flags);
	}
	vgpio_kick(core, core->proto->irq_vq, kick);
	return ret;
}

int vgpio_irq_sync(struct vgpio_core *core, unsigned int line)
{
	int ret;

	if (line >= core->ngpio)
		return -EINVAL;
	if (!core->proto->irq_sync)
		return 0;
	ret = vgpio_enter(core);
	if (ret)
		return ret;
	ret = core->proto->irq_sync(core, line);
	vgpio_leave(core);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Accessors                                                            */

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

enum vgpio_protocol vgpio_core_protocol(const struct vgpio_core *core)
{
	return core->protocol;
}

unsigned int vgpio_core_num_vqs(const struct vgpio_core *core)
{
	return core->num_vqs;
}

const char *vgpio_core_vq_name(const struct vgpio_core *core,
			       unsigned int vq)
{
	return vq < core->num_vqs ? core->proto->vq_names[vq] : NULL;
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
