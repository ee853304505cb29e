// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The standard protocol (virtio 1.2 "GPIO Device", device ID 41): every
 * request is one chain on the requestq, the 8-byte request followed by
 * the device-writable response; interrupts are one eventq chain per
 * line, which the device holds until the line triggers.
 *
 * The response comes back in the request's own chain, so the chain's
 * token (its slot) says which request it answers: an abandoned request
 * simply leaves its slot with the device until it returns (vgpio_collect()
 * marks it orphaned), and nothing like the 2020 protocol's
 * resynchronisation is needed: no prepare hook.
 *
 * What the driver knows of the device's line state (dev_dir,
 * dev_irq_type) is written only where a response is judged or a request
 * abandoned, both under the lock: the device answers the requests of one
 * line in order (virtio 1.4, requestq Operation), so applying answers as
 * they come, late ones included, leaves the record as the device is.
 */
#include "vgpio_core_priv.h"

static const char *const vgpio_std_vq_names[] = {
	[VGPIO_STD_VQ_REQUEST] = "requestq",
	[VGPIO_STD_VQ_EVENT] = "eventq",
};

/* ------------------------------------------------------------------ */
/* Probe                                                                */

/* Field by field: strict hosts refuse a whole-struct config read. */
static int vgpio_std_read_config(struct vgpio_core *core,
				 const struct vgpio_dev_info *info,
				 const char **why)
{
	u32 names_size;
	u16 ngpio;
	int ret;

	/* Its little-endian wire format needs the 1.x interface. */
	if (info->legacy) {
		*why = "legacy device: the standard GPIO device needs VIRTIO_F_VERSION_1";
		return -ENODEV;
	}
	if (info->cfg_size && info->cfg_size < VGPIO_STD_CFG_SIZE) {
		*why = "config space smaller than 8 bytes";
		return -ENODEV;
	}
	ngpio = vgpio_cfg_le16(core, VGPIO_STD_CFG_NGPIO);
	ret = vgpio_check_ngpio(ngpio, VGPIO_STD_MAX_LINES, why);
	if (ret)
		return ret;
	names_size = vgpio_cfg_le32(core, VGPIO_STD_CFG_NAMES_SIZE);
	if (names_size > VGPIO_STD_NAMES_MAX) {
		/* Not an allocation of the device's choosing: no names. */
		core->ops->rejected(core->ctx, -E2BIG,
				    "line-names block larger than supported left out");
		names_size = 0;
	}
	core->ngpio = ngpio;
	core->has_irq = info->irq;
	core->indirect = info->indirect;
	core->num_vqs = info->irq ? 2 : 1;

	*why = "out of memory";
	if (names_size) {
		/* Status byte, the block, and the NUL vgpio_parse_names needs. */
		core->names_buf = vgpio_alloc_dma(names_size + 2,
						  &core->names_mem);
		if (!core->names_buf)
			return -ENOMEM;
		core->names_size = names_size;
	}
	*why = NULL;
	return 0;
}

/*
 * An armed line holds a two-part chain on the eventq: one ring entry with
 * indirect descriptors, two without. A ring too small for every line would
 * leave some armed lines silent, so only as many lines as fit take
 * interrupts at all, and only those get an eventq buffer. The queue's size
 * is known only once it exists, hence here and not at probe. The slots
 * are one physically contiguous allocation, so a device's ring size does
 * not choose its order: at most VGPIO_STD_IRQ_LINES_MAX lines (1 MiB of
 * 256-byte slots) take interrupts.
 */
static int vgpio_std_alloc_irq_slots(struct vgpio_core *core)
{
	unsigned int fit;

	if (!core->has_irq || core->irq_slots)
		return 0;
	fit = core->ops->vq_size(core->ctx, VGPIO_STD_VQ_EVENT);
	if (!core->indirect)
		fit /= 2;
	if (fit > VGPIO_STD_IRQ_LINES_MAX)
		fit = VGPIO_STD_IRQ_LINES_MAX;
	if (fit < core->irq_lines)
		core->irq_lines = fit;
	if (!core->irq_lines)
		return 0;
	core->irq_slots = vgpio_alloc_dma(core->irq_lines *
					  sizeof(*core->irq_slots),
					  &core->irq_mem);
	return core->irq_slots ? 0 : -ENOMEM;
}

/* A device that will not name its lines still has usable lines. */
static int vgpio_std_start(struct vgpio_core *core)
{
	struct vgpio_xfer x = {
		.type = VGPIO_STD_MSG_GET_LINE_NAMES,
		.in = core->names_buf,
		.in_len = core->names_size + 1,
	};
	s32 res;
	int ret;

	ret = vgpio_std_alloc_irq_slots(core);
	if (ret)
		return ret;
	if (!core->names_size)
		return 0;
	ret = vgpio_xfer(core, 0, &x, &res);
	if (ret) {
		core->ops->rejected(core->ctx, ret, "line names unavailable");
		return 0;
	}
	core->names_buf[core->names_size + 1] = '\0';
	core->names_block = (char *)core->names_buf + 1;
	vgpio_parse_names(core, core->names_size);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Requests                                                             */

static int vgpio_std_send(struct vgpio_core *core, unsigned int line,
			  unsigned int type, u32 value, s32 *res)
{
	struct vgpio_xfer x = {
		.type = type,
		.value = value,
		.in_len = sizeof(struct vgpio_std_resp),
	};

	return vgpio_xfer(core, line, &x, res);
}

/* The record of the direction follows the response (vgpio_std_record()). */
static int vgpio_std_set_direction(struct vgpio_core *core, unsigned int line,
				   u8 dir, s32 *res)
{
	return vgpio_std_send(core, line, VGPIO_STD_MSG_SET_DIRECTION, dir, res);
}

/*
 * A direction change given up on may have been applied late, or not:
 * the device's direction then differs from the one the callers know, or
 * is unknown. Set the known one again before the line is used, so that
 * gpiolib's view of it is the device's.
 */
static int vgpio_std_restore_direction(struct vgpio_core *core,
				       unsigned int line)
{
	const struct vgpio_line *l = &core->lines[line];
	u8 dir = READ_ONCE(l->dir);
	s32 res;

	if (dir == VGPIO_STD_DIRECTION_NONE || dir == READ_ONCE(l->dev_dir))
		return 0;
	return vgpio_std_set_direction(core, line, dir, &res);
}

static int vgpio_std_set_irq_type(struct vgpio_core *core, unsigned int line,
				  u8 type);
static int vgpio_std_irq_sync(struct vgpio_core *core, unsigned int line);

static int vgpio_std_op(struct vgpio_core *core, unsigned int line,
			unsigned int op, u32 value, s32 *res)
{
	struct vgpio_line *l = &core->lines[line];
	int ret;

	switch (op) {
	case VGPIO_OP_REQUEST:
		/* The standard protocol has no message for taking a line. */
		*res = 0;
		return 0;
	case VGPIO_OP_FREE:
		/*
		 * A consumer let go of a line whose interrupt another still
		 * uses (gpiolib frees the line, not the interrupt): NONE
		 * would make the device discard the interrupt with the rest.
		 */
		if (READ_ONCE(l->irq_enabled)) {
			*res = 0;
			return 0;
		}
		ret = vgpio_std_set_direction(core, line,
					      VGPIO_STD_DIRECTION_NONE, res);
		if (!ret)
			l->cfg_dir = VGPIO_DIR_UNKNOWN;
		return ret;
	case VGPIO_OP_DIRECTION_INPUT:
		ret = vgpio_std_set_direction(core, line,
					      VGPIO_STD_DIRECTION_IN, res);
		if (ret || !READ_ONCE(l->irq_enabled))
			return ret;
		/*
		 * An interrupt held back while the line was an output (gpiolib
		 * drives an emulated open-drain line low as an output) goes to
		 * the device now. The direction is set either way: a failure
		 * to arm is the sync's to report, at the next one.
		 */
		vgpio_std_irq_sync(core, line);
		return 0;
	case VGPIO_OP_DIRECTION_OUTPUT:
		/*
		 * No interrupt on an output line (virtio 1.4: the driver MUST
		 * NOT send IRQ messages for a line configured for output): the
		 * device's goes first, and comes back with the input direction.
		 */
		if (READ_ONCE(l->dev_irq_type) != VGPIO_STD_IRQ_TYPE_NONE) {
			ret = vgpio_std_set_irq_type(core, line,
						     VGPIO_STD_IRQ_TYPE_NONE);
			if (ret)
				return ret;
		}
		/* Value first, so the line never glitches to a stale level. */
		ret = vgpio_std_send(core, line, VGPIO_STD_MSG_SET_VALUE, value,
				     res);
		if (ret)
			return ret;
		return vgpio_std_set_direction(core, line,
					       VGPIO_STD_DIRECTION_OUT, res);
	case VGPIO_OP_GET_DIRECTION:
		ret = vgpio_std_send(core, line, VGPIO_STD_MSG_GET_DIRECTION,
				     0, res);
		/* A line in no direction drives nothing: report an input. */
		if (!ret)
			*res = *res == VGPIO_STD_DIRECTION_OUT ?
			       VGPIO_LINE_DIRECTION_OUT :
			       VGPIO_LINE_DIRECTION_IN;
		return ret;
	case VGPIO_OP_GET_VALUE:
		ret = vgpio_std_restore_direction(core, line);
		if (ret)
			return ret;
		return vgpio_std_send(core, line, VGPIO_STD_MSG_GET_VALUE, 0,
				      res);
	case VGPIO_OP_SET_VALUE:
		ret = vgpio_std_restore_direction(core, line);
		if (ret)
			return ret;
		ret = vgpio_std_send(core, line, VGPIO_STD_MSG_SET_VALUE, value,
				     res);
		/* The device does not echo the level; it drives what we set. */
		if (!ret)
			*res = value;
		return ret;
	default:
		/* vgpio_request() checked the range: an op this protocol lacks. */
		return -EOPNOTSUPP;
	}
}

/* ------------------------------------------------------------------ */
/* Receive path: responses                                              */

/* The answer in slot @idx as a result or a -errno, checked. */
static s32 vgpio_std_check(struct vgpio_core *core, unsigned int idx,
			   u32 len, struct vgpio_rx_action *act)
{
	const struct vgpio_slot_state *st = &core->tx_state[idx];
	const struct vgpio_std_resp *resp = &core->tx[idx].resp;
	u8 status, value = resp->value;

	if (len < st->in_len) {
		vgpio_drop(core, act, &core->stats.bad_len, -EBADMSG,
			   "response shorter than expected");
		return -EBADMSG;
	}
	if (len > st->in_len) {
		vgpio_drop(core, act, &core->stats.bad_len, -EMSGSIZE,
			   "response longer than its buffer");
		return -EMSGSIZE;
	}
	if (st->type == VGPIO_STD_MSG_GET_LINE_NAMES) {
		status = core->names_buf[0];
		value = 0;
	} else {
		status = resp->status;
	}
	if (status == VGPIO_STD_STATUS_ERR)
		return -EIO;
	if (status != VGPIO_STD_STATUS_OK) {
		vgpio_drop(core, act, &core->stats.bad_type, -EPROTO,
			   "unknown response status");
		return -EPROTO;
	}
	switch (st->type) {
	case VGPIO_STD_MSG_GET_DIRECTION:
		if (value > VGPIO_STD_DIRECTION_IN)
			goto bad_value;
		return value;
	case VGPIO_STD_MSG_GET_VALUE:
		if (value > 1)
			goto bad_value;
		return value;
	default:
		/* Other responses carry no value; whatever is there is unused. */
		return 0;
	}
bad_value:
	vgpio_drop(core, act, &core->stats.bad_value, -EINVAL,
		   "response value out of range");
	return -EINVAL;
}

/*
 * Under the lock: what the request in slot @idx did to its line, by its
 * answer @res (-ETIMEDOUT when abandoned unanswered); @live when a caller
 * hears the answer, whose view of the line then follows it. One that
 * failed may have been applied: the direction is then unknown (taken for
 * an output: no interrupt goes to the device) and so is the trigger type
 * (the next sync sends it again). Setting no direction discards the
 * line's state at the device, its trigger type too.
 */
static void vgpio_std_record(struct vgpio_core *core, unsigned int idx,
			     s32 res, bool live)
{
	const struct vgpio_slot_state *st = &core->tx_state[idx];
	struct vgpio_line *l = &core->lines[st->line];
	u32 value = le32_to_cpu(core->tx[idx].msg.value);

	switch (st->type) {
	case VGPIO_STD_MSG_SET_DIRECTION:
		WRITE_ONCE(l->dev_dir, res < 0 ? VGPIO_DEV_DIR_UNKNOWN : value);
		if (live && res >= 0)
			WRITE_ONCE(l->dir, value);
		if (value == VGPIO_STD_DIRECTION_NONE)
			l->dev_irq_type = res < 0 ? VGPIO_DEV_IRQ_UNKNOWN :
						    VGPIO_STD_IRQ_TYPE_NONE;
		break;
	case VGPIO_STD_MSG_GET_DIRECTION:
		if (res < 0)
			break;
		WRITE_ONCE(l->dev_dir, res);
		if (live)
			WRITE_ONCE(l->dir, res);
		break;
	case VGPIO_STD_MSG_SET_IRQ_TYPE:
		l->dev_irq_type = res < 0 ? VGPIO_DEV_IRQ_UNKNOWN : value;
		break;
	}
}

/* Taken for an output unless known not to be one. */
static bool vgpio_std_dev_output(const struct vgpio_line *l)
{
	u8 dir = READ_ONCE(l->dev_dir);

	return dir != VGPIO_STD_DIRECTION_IN && dir != VGPIO_STD_DIRECTION_NONE;
}

/* The waiter gave up: the request may yet be applied, or not. */
static void vgpio_std_abandon(struct vgpio_core *core, struct vgpio_line *l)
{
	if (l->slot >= 0)
		vgpio_std_record(core, l->slot, -ETIMEDOUT, false);
}

/*
 * A question without effect on the line of the request that timed out:
 * the device answers the line's requests in order, so its answer comes
 * after the abandoned one's, or alone if that one was lost.
 */
static bool vgpio_std_ping(struct vgpio_core *core, unsigned int line)
{
	int idx;

	idx = vgpio_post(core, line, VGPIO_STD_MSG_GET_DIRECTION, 0, NULL,
			 sizeof(struct vgpio_std_resp));
	if (idx < 0)
		return false;
	core->tx_state[idx].orphan = true;
	return true;
}

/*
 * A trigger type the driver gave up on, applied late, and the one the
 * line still wants: the interrupt needs only its eventq buffer, which
 * the host's deferred arm hands over (vgpio_irq_arm_pending()), as no
 * sync may come to do it: the kernel only logged the failed one.
 */
static void vgpio_std_late_type(struct vgpio_core *core, unsigned int idx,
				s32 res)
{
	const struct vgpio_slot_state *st = &core->tx_state[idx];
	const struct vgpio_line *l = &core->lines[st->line];

	if (!core->dead && !core->detached &&
	    st->type == VGPIO_STD_MSG_SET_IRQ_TYPE && res >= 0 &&
	    l->dev_irq_type != VGPIO_STD_IRQ_TYPE_NONE &&
	    l->dev_irq_type == READ_ONCE(l->irq_type) &&
	    vgpio_irq_wanted(l) && core->ops->arm_later)
		core->ops->arm_later(core->ctx);
}

/*
 * One used requestq chain; it is never posted again (vgpio_drain()). A
 * late one, whose waiter gave up, still tells what the device did.
 */
static bool vgpio_std_response(struct vgpio_core *core, void *token, u32 len,
			       struct vgpio_rx_action *act)
{
	struct vgpio_slot_state *st;
	struct vgpio_line *l;
	s32 res;
	int idx;

	idx = vgpio_token_index(core->tx, sizeof(*core->tx), core->ntx, token);
	if (idx < 0 || !core->tx_state[idx].busy) {
		vgpio_drop(core, act, &core->stats.bad_token, -EFAULT,
			   "used buffer that is not ours");
		return false;
	}
	st = &core->tx_state[idx];
	st->busy = false;
	core->stats.tx_reclaimed++;
	if (st->orphan) {
		st->orphan = false;
		core->stats.late_replies++;
		res = vgpio_std_check(core, idx, len, act);
		vgpio_std_record(core, idx, res, false);
		vgpio_std_late_type(core, idx, res);
		return false;
	}
	/* A slot in flight and not orphaned is its line's live request. */
	l = &core->lines[st->line];
	if (l->slot != idx || !l->live || l->done) {
		vgpio_drop(core, act, &core->stats.unexpected, -ENOMSG,
			   "response without a matching request");
		return false;
	}
	/* A bad response still ends its request: the chain is back. */
	res = vgpio_std_check(core, idx, len, act);
	vgpio_std_record(core, idx, res, true);
	vgpio_complete(core, st->line, res, act);
	return false;
}

/* ------------------------------------------------------------------ */
/* Interrupts                                                           */

static unsigned int vgpio_std_irq_types(const struct vgpio_core *core)
{
	return core->has_irq ? VGPIO_IRQ_EDGE_BOTH | VGPIO_IRQ_LEVEL_BOTH : 0;
}

/*
 * The device holds the buffer until the line triggers, so it is handed
 * over only when an interrupt is wanted: enabled, unmasked, and the
 * device told a trigger type (else it would return it at once).
 */
static bool vgpio_std_irq_arm(struct vgpio_core *core, unsigned int line)
{
	struct vgpio_line *l = &core->lines[line];
	struct vgpio_irq_slot *slot;
	int err;

	if (!core->has_irq || core->dead || core->detached ||
	    line >= core->irq_lines ||
	    !vgpio_irq_wanted(l) ||
	    l->irq_queued || l->dev_irq_type == VGPIO_STD_IRQ_TYPE_NONE ||
	    l->dev_irq_type == VGPIO_DEV_IRQ_UNKNOWN)
		return false;
	slot = &core->irq_slots[line];
	slot->req.gpio = cpu_to_le16(line);
	slot->resp.status = VGPIO_STD_IRQ_STATUS_INVALID;
	err = core->ops->add_chain(core->ctx, VGPIO_STD_VQ_EVENT, &slot->req,
				   sizeof(slot->req), &slot->resp,
				   sizeof(slot->resp), slot);
	if (err) {
		core->stats.rx_repost_failed++;
		core->irq_arm_error = err;
		/* Memory or room may come back; a broken queue will not. */
		if ((err == -ENOMEM || err == -ENOSPC) && core->ops->arm_retry)
			core->ops->arm_retry(core->ctx);
		return false;
	}
	l->irq_queued = true;
	return true;
}

/*
 * One returned eventq buffer; true when it was posted again. An INVALID
 * return is re-armed once (the type may have changed back while the
 * device was returning it); a device that keeps returning buffers unused
 * gets them back only at the next sync, so it cannot keep this callback
 * spinning.
 */
static bool vgpio_std_event(struct vgpio_core *core, void *token, u32 len,
			    struct vgpio_rx_action *act)
{
	struct vgpio_line *l;
	int idx;

	idx = vgpio_token_index(core->irq_slots, sizeof(*core->irq_slots),
				core->irq_lines, token);
	if (idx < 0 || !core->lines[idx].irq_queued) {
		vgpio_drop(core, act, &core->stats.bad_token, -EFAULT,
			   "used buffer that is not ours");
		return false;
	}
	l = &core->lines[idx];
	l->irq_queued = false;
	core->stats.events++;
	if (len != sizeof(struct vgpio_std_irq_resp)) {
		vgpio_drop(core, act, &core->stats.bad_len,
			   len < sizeof(struct vgpio_std_irq_resp) ?
			   -EBADMSG : -EMSGSIZE,
			   "interrupt response of the wrong length");
	} else if (core->irq_slots[idx].resp.status ==
		   VGPIO_STD_IRQ_STATUS_VALID) {
		/* Masked or disabled meanwhile: the unmask or sync re-arms. */
		if (core->dead || !vgpio_irq_wanted(l))
			return false;
		l->irq_rearmed = false;
		core->stats.irqs++;
		act->irq = idx;
		return false;
	} else if (core->irq_slots[idx].resp.status ==
		   VGPIO_STD_IRQ_STATUS_INVALID) {
		core->stats.irq_invalid++;
	} else {
		vgpio_drop(core, act, &core->stats.bad_type, -EPROTO,
			   "unknown interrupt status");
	}
	if (l->irq_rearmed)
		return false;
	l->irq_rearmed = true;
	return vgpio_std_irq_arm(core, idx);
}

/*
 * Tell the device a trigger type. One that failed (timed out, killed, an
 * error status) leaves the device's type unknown until its late answer
 * says (vgpio_std_record()): the next sync tells the device again
 * whatever it wants.
 */
static int vgpio_std_set_irq_type(struct vgpio_core *core, unsigned int line,
				  u8 type)
{
	s32 res;

	return vgpio_std_send(core, line, VGPIO_STD_MSG_SET_IRQ_TYPE, type,
			      &res);
}

static int vgpio_std_irq_sync(struct vgpio_core *core, unsigned int line)
{
	struct vgpio_line *l = &core->lines[line];
	unsigned long flags = 0;
	u8 want;
	bool kick;
	int ret;

	want = READ_ONCE(l->irq_enabled) ? READ_ONCE(l->irq_type) :
					   VGPIO_STD_IRQ_TYPE_NONE;
	if (want != l->dev_irq_type) {
		if (!core->has_irq)
			return -EOPNOTSUPP;
		/*
		 * No IRQ message for a line configured for output: the
		 * interrupt waits for the input direction, which syncs again.
		 */
		if (want != VGPIO_STD_IRQ_TYPE_NONE && vgpio_std_dev_output(l))
			return 0;
		/*
		 * The trigger type of an enabled interrupt changes only
		 * through NONE (virtio 1.4, requestq Operation: the driver
		 * MUST first disable the interrupt).
		 */
		if (l->dev_irq_type != VGPIO_STD_IRQ_TYPE_NONE &&
		    want != VGPIO_STD_IRQ_TYPE_NONE) {
			ret = vgpio_std_set_irq_type(core, line,
						     VGPIO_STD_IRQ_TYPE_NONE);
			if (ret)
				return ret;
		}
		ret = vgpio_std_set_irq_type(core, line, want);
		if (ret)
			return ret;
	}
	vgpio_lock(&core->lock, flags);
	l->irq_rearmed = false;
	core->irq_arm_error = 0;
	kick = vgpio_irq_arm_locked(core, line);
	/*
	 * A post that failed, and why: no memory or room (-ENOMEM, -ENOSPC:
	 * the host retries it later), the eventq broken (-EIO: the interrupt
	 * will never come), or the core dying. (Not posted because masked is
	 * no failure: the unmask posts it.)
	 */
	ret = 0;
	if (want != VGPIO_STD_IRQ_TYPE_NONE && !l->irq_queued)
		ret = core->dead ? -ENODEV : core->irq_arm_error;
	vgpio_unlock(&core->lock, flags);
	vgpio_kick(core, VGPIO_STD_VQ_EVENT, kick);
	return ret;
}

static void vgpio_std_vq_done(struct vgpio_core *core, unsigned int vq)
{
	if (vq == VGPIO_STD_VQ_REQUEST)
		vgpio_drain(core, vq, vgpio_std_response);
	else
		vgpio_drain(core, vq, vgpio_std_event);
}

const struct vgpio_proto vgpio_std_proto = {
	.vq_names	= vgpio_std_vq_names,
	.req_vq		= VGPIO_STD_VQ_REQUEST,
	.irq_vq		= VGPIO_STD_VQ_EVENT,
	.read_config	= vgpio_std_read_config,
	.start		= vgpio_std_start,
	.op		= vgpio_std_op,
	.abandon	= vgpio_std_abandon,
	.ping		= vgpio_std_ping,
	.vq_done	= vgpio_std_vq_done,
	.irq_types	= vgpio_std_irq_types,
	.irq_arm	= vgpio_std_irq_arm,
	.irq_sync	= vgpio_std_irq_sync,
};
