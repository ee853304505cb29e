// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The 2020 proposal's protocol (device ID 30): config space with
 * the line names, requests on the tx queue, replies and HOST_LEVEL events
 * on the rx queue, matched to requests by line and type.
 *
 * A reply names its request only by (line, type), so a request abandoned
 * after a timeout leaves a reply owed that a newer request of the same
 * type could be mistaken for. The core remembers owed types per line and
 * resynchronises with a probe of another type (vgpio_id30_prepare()).
 *
 * The device answers one line's requests in order, late replies included,
 * so recording the direction every answer shows (vgpio_id30_record())
 * follows the device; a direction given up on and not yet answered, or
 * still owed behind a late answer, is unknown, and the callers' is set
 * again before the line's value is next used
 * (vgpio_id30_restore_direction()).
 */
#include "vgpio_core_priv.h"

/* The owed-reply bits (struct vgpio_line.stale) of the direction sets. */
#define VGPIO_ID30_DIRECTION_SETS \
	((1u << VGPIO_ID30_MSG_DIRECTION_INPUT) | \
	 (1u << VGPIO_ID30_MSG_DIRECTION_OUTPUT))

/* GET_DIRECTION's reply value is passed on as the core's result. */
static_assert(VGPIO_ID30_DIRECTION_OUT == VGPIO_LINE_DIRECTION_OUT,
	      "ID 30 output is the core's");
static_assert(VGPIO_ID30_DIRECTION_IN == VGPIO_LINE_DIRECTION_IN,
	      "ID 30 input is the core's");

static const char *const vgpio_id30_vq_names[] = {
	[VGPIO_ID30_VQ_RX] = "rx",
	[VGPIO_ID30_VQ_TX] = "tx",
};

static bool vgpio_id30_is_request(unsigned int type)
{
	return type >= VGPIO_ID30_MSG_REQUEST &&
	       type <= VGPIO_ID30_MSG_SET_VALUE;
}

/* Range of a successful reply's value, per request type. */
static bool vgpio_id30_value_ok(unsigned int type, s32 value)
{
	if (value < 0)
		return value >= -VGPIO_ID30_MAX_ERRNO;
	switch (type) {
	case VGPIO_ID30_MSG_GET_DIRECTION:
	case VGPIO_ID30_MSG_GET_VALUE:
	case VGPIO_ID30_MSG_SET_VALUE:
		return value <= 1;
	default:
		return value == 0;
	}
}

/* ------------------------------------------------------------------ */
/* Probe                                                                */

static int vgpio_id30_read_config(struct vgpio_core *core,
				  const struct vgpio_dev_info *info,
				  const char **why)
{
	unsigned int limit = VGPIO_CFG_WINDOW;
	u32 names_size;
	u8 version;
	u16 ngpio;
	int ret;

	if (info->cfg_size && info->cfg_size < VGPIO_ID30_CFG_LINE_NAMES) {
		*why = "config space smaller than its fixed part";
		return -ENODEV;
	}
	if (info->cfg_size)
		limit = info->cfg_size < VGPIO_ID30_CFG_MAX_SIZE ?
			info->cfg_size : VGPIO_ID30_CFG_MAX_SIZE;

	version = vgpio_cfg_u8(core, VGPIO_ID30_CFG_VERSION);
	if (version != VGPIO_ID30_PROTO_VERSION) {
		*why = "unsupported protocol version (not a virtio-gpio v1 device)";
		return -ENODEV;
	}
	ngpio = vgpio_cfg_le16(core, VGPIO_ID30_CFG_NGPIO);
	ret = vgpio_check_ngpio(ngpio, VGPIO_ID30_MAX_LINES, why);
	if (ret)
		return ret;
	names_size = vgpio_cfg_le32(core, VGPIO_ID30_CFG_NAMES_SIZE);
	if (names_size > limit - VGPIO_ID30_CFG_LINE_NAMES) {
		if (info->cfg_size) {
			/* The device says where its config ends: a lie. */
			*why = "line-names block extends beyond the config space";
			return -EINVAL;
		}
		/*
		 * Nobody says where the config ends; reading on may crash.
		 * The lines work without names.
		 */
		core->ops->rejected(core->ctx, -E2BIG,
				    "line names past the 256 config bytes every transport serves left out");
		names_size = 0;
	}
	core->ngpio = ngpio;
	core->num_vqs = VGPIO_ID30_NUM_VQS;
	vgpio_cfg_bytes(core, VGPIO_ID30_CFG_NAME, core->name,
			VGPIO_ID30_CFG_NAME_LEN);
	core->name[VGPIO_ID30_CFG_NAME_LEN] = '\0';
	if (!vgpio_name_ok(core->name)) {
		/* The glue then names the chip after the virtio device. */
		core->name[0] = '\0';
		core->ops->rejected(core->ctx, -EINVAL,
				    "device name holding '%', '/' or unprintable bytes left out");
	}

	*why = "out of memory";
	core->rx = vgpio_alloc_dma(VGPIO_RX_BUFS * sizeof(*core->rx),
				   &core->rx_mem);
	/* One byte more than the block: the NUL vgpio_parse_names relies on. */
	core->names_mem = vgpio_zalloc(names_size + 1);
	if (!core->rx || !core->names_mem)
		return -ENOMEM;
	core->names_block = core->names_mem;
	core->names_size = names_size;
	vgpio_cfg_bytes(core, VGPIO_ID30_CFG_LINE_NAMES, core->names_block,
			names_size);
	*why = NULL;
	return 0;
}

static int vgpio_id30_post_rx(struct vgpio_core *core, unsigned int idx)
{
	return core->ops->add_chain(core->ctx, VGPIO_ID30_VQ_RX, NULL, 0,
				    &core->rx[idx].msg,
				    sizeof(core->rx[idx].msg), &core->rx[idx]);
}

static int vgpio_id30_start(struct vgpio_core *core)
{
	unsigned long flags = 0;
	unsigned int i;
	bool kick;

	vgpio_lock(&core->lock, flags);
	for (i = 0; i < VGPIO_RX_BUFS; i++) {
		if (vgpio_id30_post_rx(core, i))
			break;
		core->rx_posted++;
	}
	kick = core->rx_posted && core->ops->kick_prepare(core->ctx,
							  VGPIO_ID30_VQ_RX);
	vgpio_unlock(&core->lock, flags);
	if (!core->rx_posted)
		return -ENOSPC;
	vgpio_kick(core, VGPIO_ID30_VQ_RX, kick);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Requests                                                             */

static void vgpio_id30_reclaim(struct vgpio_core *core)
{
	unsigned int len;
	void *token;
	int idx;

	while ((token = core->ops->get_buf(core->ctx, VGPIO_ID30_VQ_TX,
					   &len))) {
		idx = vgpio_token_index(core->tx, sizeof(*core->tx), core->ntx,
					token);
		if (idx < 0 || !core->tx_state[idx].busy) {
			vgpio_reject(core, &core->stats.bad_token, -EFAULT);
			continue;
		}
		core->tx_state[idx].busy = false;
		core->tx_state[idx].orphan = false;
		core->stats.tx_reclaimed++;
	}
}

/*
 * A request without side effects whose reply cannot be mistaken for a
 * stale one: the two queries, then REQUEST, which devices must accept
 * any number of times (spec, "Requests").
 */
static unsigned int vgpio_id30_probe_type(u8 stale)
{
	static const u8 candidates[] = {
		VGPIO_ID30_MSG_GET_DIRECTION, VGPIO_ID30_MSG_GET_VALUE,
		VGPIO_ID30_MSG_REQUEST,
	};
	unsigned int i;

	for (i = 0; i < sizeof(candidates); i++)
		if (!(stale & (1u << candidates[i])))
			return candidates[i];
	return 0;
}

/*
 * When a reply of the request's type is still owed for an abandoned
 * request, the reply to a new one could not be told from it; send a
 * probe of another type instead (see vgpio_id30_reply()).
 */
static int vgpio_id30_prepare(struct vgpio_core *core, struct vgpio_line *l,
			      unsigned int *type, u32 *value)
{
	l->probe = false;
	if (l->stale & (1u << *type)) {
		*type = vgpio_id30_probe_type(l->stale);
		*value = 0;
		l->probe = true;
		if (!*type)
			return -EBUSY;
		core->stats.resyncs++;
	}
	vgpio_id30_reclaim(core);
	return 0;
}

/*
 * Under the lock: what an answer of @type, carrying @value, says of its
 * line's direction; @caller when it answers a caller (not a late reply,
 * not a probe's), whose view of the line then follows it. A direction
 * set that failed or was given up on (-ETIMEDOUT) may have been applied,
 * or not: the device's direction is then unknown.
 */
static void vgpio_id30_record(struct vgpio_line *l, unsigned int type,
			      s32 value, bool caller)
{
	u8 dir;

	switch (type) {
	case VGPIO_ID30_MSG_DIRECTION_INPUT:
		dir = VGPIO_DIR_IN;
		break;
	case VGPIO_ID30_MSG_DIRECTION_OUTPUT:
		dir = VGPIO_DIR_OUT;
		break;
	case VGPIO_ID30_MSG_GET_DIRECTION:
		if (value < 0)
			return;
		dir = value == VGPIO_ID30_DIRECTION_OUT ? VGPIO_DIR_OUT :
							  VGPIO_DIR_IN;
		break;
	default:
		return;
	}
	WRITE_ONCE(l->dev_dir, value < 0 ? VGPIO_DEV_DIR_UNKNOWN : dir);
	if (caller && value >= 0)
		WRITE_ONCE(l->dir, dir);
}

static void vgpio_id30_abandon(struct vgpio_core *core, struct vgpio_line *l)
{
	l->stale |= 1u << l->live;
	vgpio_id30_record(l, l->live, -ETIMEDOUT, false);
}

/*
 * A question without effect whose reply is owed to nobody: its type is
 * marked stale, so the reply is dropped as a late one, and a request of
 * that type resynchronises first as after any abandon. On @line if one
 * of its types is free to ask, else on the next line that has one.
 */
static bool vgpio_id30_ping(struct vgpio_core *core, unsigned int line)
{
	unsigned int i, type;

	for (i = 0; i < core->ngpio; i++) {
		struct vgpio_line *l = &core->lines[(line + i) % core->ngpio];

		type = vgpio_id30_probe_type(l->stale);
		if (!type || l->live)
			continue;
		if (vgpio_post(core, l - core->lines, type, 0, NULL, 0) < 0)
			return false;
		l->stale |= 1u << type;
		return true;
	}
	return false;
}

/*
 * One exchange of @type. When a reply of that type is owed on the line,
 * a probe goes instead (vgpio_id30_prepare()): the core's question, not
 * the caller's. A device errno in its answer still means the line is in
 * step again, and is not the caller's result; a timeout or a dead core
 * is. 1 when the probe went and the request is still to be sent.
 */
static int vgpio_id30_exchange(struct vgpio_core *core, unsigned int line,
			       unsigned int type, u32 value, s32 *res)
{
	struct vgpio_xfer x = { .type = type, .value = value };
	int ret;

	*res = 0;
	ret = vgpio_xfer(core, line, &x, res);
	if (!core->lines[line].probe)
		return ret;
	if (ret && *res >= 0)
		return ret;
	return 1;
}

/* A probe clears every owed reply, so one retry always suffices. */
static int vgpio_id30_send(struct vgpio_core *core, unsigned int line,
			   unsigned int type, u32 value, s32 *res)
{
	int ret;

	ret = vgpio_id30_exchange(core, line, type, value, res);
	if (ret == 1)
		ret = vgpio_id30_exchange(core, line, type, value, res);
	return ret == 1 ? -EIO : ret;
}

/*
 * gpiolib changes its view of a line's direction only when a direction
 * call succeeds, or from get_direction's answer. One given up on may have
 * been applied late, or not: the device's direction then differs from
 * the callers', or is unknown. Set the callers' again before the line's
 * value is used, an output at @value (the level about to be driven, or
 * the last one driven), so that the device is what gpiolib believes. A
 * probe sent first (the type is owed) may show the line in step already.
 * Without a level (@have_level false: a read of a line no consumer has
 * driven, whose direction gpiolib only read) an output is left as it is:
 * a read must not choose what the line drives.
 */
static int vgpio_id30_restore_direction(struct vgpio_core *core,
					unsigned int line, u32 value,
					bool have_level)
{
	const struct vgpio_line *l = &core->lines[line];
	unsigned int attempt;
	s32 res;
	int ret;
	u8 dir;

	for (attempt = 0; attempt < 2; attempt++) {
		dir = READ_ONCE(l->dir);
		if (dir == VGPIO_DIR_UNKNOWN || dir == READ_ONCE(l->dev_dir))
			return 0;
		if (dir == VGPIO_DIR_OUT && !have_level)
			return 0;
		if (dir == VGPIO_DIR_OUT)
			ret = vgpio_id30_exchange(core, line,
						  VGPIO_ID30_MSG_DIRECTION_OUTPUT,
						  value, &res);
		else
			ret = vgpio_id30_exchange(core, line,
						  VGPIO_ID30_MSG_DIRECTION_INPUT,
						  0, &res);
		if (ret != 1)
			return ret;
	}
	return -EIO;
}

/* The operations are the 2020 protocol's message types; FREE has no message. */
static int vgpio_id30_op(struct vgpio_core *core, unsigned int line,
			 unsigned int op, u32 value, s32 *res)
{
	int ret;

	switch (op) {
	case VGPIO_OP_FREE:
		return 0;
	case VGPIO_OP_GET_VALUE:
		ret = vgpio_id30_restore_direction(core, line,
						   core->lines[line].out_value,
						   core->lines[line].out_driven);
		break;
	case VGPIO_OP_SET_VALUE:
		ret = vgpio_id30_restore_direction(core, line, value, true);
		break;
	default:
		ret = 0;
		break;
	}
	if (ret)
		return ret;
	return vgpio_id30_send(core, line, op, value, res);
}

/* ------------------------------------------------------------------ */
/* Receive path                                                         */

/*
 * Devices answer the requests of one line in order, exactly once each
 * (spec, "Data flow"). So a reply of a type still owed for an abandoned
 * request is that late reply; and once the live request is answered,
 * every request sent before it has been answered or was dropped.
 */
static void vgpio_id30_reply(struct vgpio_core *core, unsigned int type,
			     unsigned int line, s32 value,
			     struct vgpio_rx_action *act)
{
	struct vgpio_line *l = &core->lines[line];
	u8 bit = 1u << type;

	if (!vgpio_id30_value_ok(type, value)) {
		vgpio_drop(core, act, &core->stats.bad_value, -EINVAL,
			   "reply value out of range");
		return;
	}
	if (l->stale & bit) {
		l->stale &= ~bit;
		core->stats.late_replies++;
		vgpio_id30_record(l, type, value, false);
		/*
		 * A direction set still owed may change the line again: its
		 * place in the line's order is not kept, so the direction is
		 * unknown until a live answer settles every owed one (at most
		 * one more direction request).
		 */
		if (l->stale & VGPIO_ID30_DIRECTION_SETS)
			WRITE_ONCE(l->dev_dir, VGPIO_DEV_DIR_UNKNOWN);
		return;
	}
	if (l->live != type || l->done) {
		vgpio_drop(core, act, &core->stats.unexpected, -ENOMSG,
			   "reply without a matching request");
		return;
	}
	l->stale = 0;
	vgpio_id30_record(l, type, value, !l->probe);
	vgpio_complete(core, line, value, act);
}

static bool vgpio_id30_edge_fires(const struct vgpio_line *l, int level)
{
	if (!vgpio_irq_wanted(l) || l->level == level)
		return false;
	if (level)
		return READ_ONCE(l->irq_type) & VGPIO_IRQ_EDGE_RISING;
	return READ_ONCE(l->irq_type) & VGPIO_IRQ_EDGE_FALLING;
}

static void vgpio_id30_event(struct vgpio_core *core, unsigned int line,
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
	if (!core->dead && vgpio_id30_edge_fires(l, value)) {
		core->stats.irqs++;
		act->irq = line;
	}
	l->level = value;
}

static void vgpio_id30_msg(struct vgpio_core *core,
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

	if (type != VGPIO_ID30_MSG_HOST_LEVEL &&
	    (!(type & VGPIO_ID30_MSG_REPLY) ||
	     (type & VGPIO_ID30_MSG_RESERVED) ||
	     !vgpio_id30_is_request(type & ~VGPIO_ID30_MSG_REPLY))) {
		vgpio_drop(core, act, &core->stats.bad_type, -EPROTO,
			   "unknown message type");
		return;
	}
	if (line >= core->ngpio) {
		vgpio_drop(core, act, &core->stats.bad_line, -ERANGE,
			   "line number beyond ngpio");
		return;
	}
	if (type == VGPIO_ID30_MSG_HOST_LEVEL)
		vgpio_id30_event(core, line, value, act);
	else
		vgpio_id30_reply(core, type & ~VGPIO_ID30_MSG_REPLY, line,
				 value, act);
}

/* One used receive buffer; true when it was posted again. */
static bool vgpio_id30_rx(struct vgpio_core *core, void *token, u32 len,
			  struct vgpio_rx_action *act)
{
	struct vgpio_msg msg;
	bool reposted = true;
	int idx;

	idx = vgpio_token_index(core->rx, sizeof(*core->rx), VGPIO_RX_BUFS,
				token);
	if (idx < 0) {
		vgpio_drop(core, act, &core->stats.bad_token, -EFAULT,
			   "used buffer that is not ours");
		return false;
	}
	/* Copy out first: the buffer goes straight back to the device. */
	memcpy(&msg, &core->rx[idx].msg, sizeof(msg));
	if (vgpio_id30_post_rx(core, idx)) {
		core->stats.rx_repost_failed++;
		core->rx_posted--;
		reposted = false;
	}
	vgpio_id30_msg(core, &msg, len, act);
	return reposted;
}

static void vgpio_id30_vq_done(struct vgpio_core *core, unsigned int vq)
{
	unsigned long flags = 0;

	if (vq == VGPIO_ID30_VQ_RX) {
		vgpio_drain(core, vq, vgpio_id30_rx);
		return;
	}
	vgpio_lock(&core->lock, flags);
	vgpio_id30_reclaim(core);
	vgpio_unlock(&core->lock, flags);
}

/* ------------------------------------------------------------------ */
/* Interrupts: edges derived from HOST_LEVEL                            */

/* Nothing to tell the device, hence no irq_arm or irq_sync hook. */

static unsigned int vgpio_id30_irq_types(const struct vgpio_core *core)
{
	return VGPIO_IRQ_EDGE_BOTH;
}

const struct vgpio_proto vgpio_id30_proto = {
	.vq_names	= vgpio_id30_vq_names,
	.req_vq		= VGPIO_ID30_VQ_TX,
	.read_config	= vgpio_id30_read_config,
	.start		= vgpio_id30_start,
	.restart	= vgpio_id30_start,
	.op		= vgpio_id30_op,
	.prepare	= vgpio_id30_prepare,
	.abandon	= vgpio_id30_abandon,
	.ping		= vgpio_id30_ping,
	.vq_done	= vgpio_id30_vq_done,
	.irq_types	= vgpio_id30_irq_types,
};
