// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness: after a successful probe, a stream of kernel-side
 * operations (every VGPIO_OP_*, interrupt enable/mask/type/sync, edge
 * watches, kill) interleaved with what a hostile device does (replies
 * right or wrong, used lengths of 0 or 4 GiB, events for any line,
 * descriptors that are not in flight, lost interrupts) and with waits
 * that end in a reply, a timeout or a signal. Both protocols.
 *
 * The core sleeps only in the host's wait op, so the device acts there:
 * while a caller waits, the next steps of the input run, which may also
 * start operations on other lines (another thread's call, nested) and
 * decide when the wait ends. Invariants are checked after every step
 * (fuzz_check_core()), on every result, and at teardown (no leak).
 *
 * Input layout (make_corpus.py writes the seeds):
 *   u8 protocol: bit 0 standard (else ID 30); bit 1 VIRTIO_GPIO_F_IRQ
 *   u8 ngpio - 1
 *   u8 ring size of queue 0, u8 of queue 1: 1 << (value % 9)
 *   then steps, each an opcode byte (enum step) and its arguments
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_host.h"

/* Nested callers at once; the kernel has as many as there are threads. */
#define STREAM_MAX_DEPTH	3

enum step {
	STEP_REQUEST,		/* line, op, value */
	STEP_IRQ_SET_TYPE,	/* line, type index */
	STEP_IRQ_ENABLE,	/* line, enable */
	STEP_IRQ_MASK,		/* line, masked */
	STEP_IRQ_SYNC,		/* line */
	STEP_WATCH,		/* line, type index: set_type, enable, sync */
	STEP_DEV_REPLY,		/* pick, flags, [fields], used-length choice */
	STEP_DEV_RAW,		/* vq, pick, count, bytes, used-length choice */
	STEP_DEV_EVENT,		/* pick, flags, line, [value], used-length */
	STEP_DEV_BAD_USED,	/* vq: a descriptor not in flight comes back */
	STEP_CALLBACK,		/* vq */
	STEP_KILL,
	STEP_DEV_CONSUME,	/* vq, pick, used-length choice: no answer */
	STEP_WAIT_RETURN,	/* end the innermost wait: done or timeout */
	STEP_WAIT_TIMEOUT,	/* end it with -ETIMEDOUT */
	STEP_WAIT_EINTR,	/* end it with -EINTR (a fatal signal) */
	STEP_COUNT,
};

/* Valid types first, then ones the core must refuse. */
static const unsigned int irq_types[8] = {
	VGPIO_IRQ_NONE, VGPIO_IRQ_EDGE_RISING, VGPIO_IRQ_EDGE_FALLING,
	VGPIO_IRQ_EDGE_BOTH, VGPIO_IRQ_LEVEL_HIGH, VGPIO_IRQ_LEVEL_LOW,
	VGPIO_IRQ_LEVEL_BOTH, 5,
};

struct stream_run {
	struct fuzz_host h;
	unsigned int depth;
	bool standard;
};

static int stream_step(struct stream_run *run);

static unsigned int ngpio_of(struct stream_run *run)
{
	return vgpio_core_ngpio(run->h.core);
}

/*
 * Lines that take interrupts: with the standard protocol's eventq, as
 * many as the ring holds two-descriptor chains; the core must agree.
 */
static unsigned int irq_lines_of(struct stream_run *run)
{
	struct vgpio_core *core = run->h.core;
	unsigned int fit = ngpio_of(run);

	if (vgpio_core_protocol(core) == VGPIO_PROTOCOL_STANDARD &&
	    vgpio_core_irq_types(core) &&
	    run->h.vq[VGPIO_STD_VQ_EVENT].num / 2 < fit)
		fit = run->h.vq[VGPIO_STD_VQ_EVENT].num / 2;
	FUZZ_CHECK(vgpio_core_irq_lines(core) == fit,
		   "core takes interrupts on %u lines, the ring holds %u",
		   vgpio_core_irq_lines(core), fit);
	return fit;
}

/* A line number: mostly valid, sometimes ngpio itself. */
static unsigned int pick_line(struct stream_run *run)
{
	return fuzz_u8(&run->h.in) % (ngpio_of(run) + 1);
}

static bool std_error_ok(int ret)
{
	switch (ret) {
	case -EIO:		/* device's error status, or a broken queue */
	case -EBADMSG:		/* response too short */
	case -EMSGSIZE:		/* response too long */
	case -EPROTO:		/* unknown status */
	case -EINVAL:		/* value out of range */
	case -ETIMEDOUT:
	case -EINTR:
	case -ENODEV:		/* killed */
	case -ENOSPC:		/* queue full */
	case -EBUSY:		/* also: an output of a line with an irq */
	case -EPERM:		/* an interrupt on an output line */
	case -EOPNOTSUPP:	/* irq type without VIRTIO_GPIO_F_IRQ */
		return true;
	default:
		return false;
	}
}

static void check_result(struct stream_run *run, unsigned int op, u32 value,
			 int ret, u32 result, bool killed_before)
{
	if (killed_before)
		FUZZ_CHECK(ret == -ENODEV, "op %u after kill returned %d", op,
			   ret);
	if (run->standard)
		FUZZ_CHECK(!ret || std_error_ok(ret), "op %u returned %d", op,
			   ret);
	else
		/* The ID 30 device's errno passes through, any of them. */
		FUZZ_CHECK(ret <= 0 && ret >= -VGPIO_ID30_MAX_ERRNO,
			   "op %u returned %d", op, ret);
	if (ret)
		return;
	switch (op) {
	case VGPIO_OP_GET_VALUE:
	case VGPIO_OP_GET_DIRECTION:
		FUZZ_CHECK(result <= 1, "op %u result %u", op, result);
		break;
	case VGPIO_OP_SET_VALUE:
		FUZZ_CHECK(run->standard ? result == value : result <= 1,
			   "set %u result %u", value, result);
		break;
	default:
		FUZZ_CHECK(result == 0, "op %u result %u", op, result);
	}
}

static void do_request(struct stream_run *run)
{
	struct fuzz_host *h = &run->h;
	unsigned int line = pick_line(run);
	unsigned int op = fuzz_u8(&h->in) % (VGPIO_OP_LAST + 2);
	u32 value = fuzz_u8(&h->in) % 3, result = 0xdeadbeef;
	bool bad, killed = h->killed;
	int ret;

	bad = line >= ngpio_of(run) || op < VGPIO_OP_REQUEST ||
	      op > VGPIO_OP_LAST ||
	      ((op == VGPIO_OP_DIRECTION_OUTPUT || op == VGPIO_OP_SET_VALUE) &&
	       value > 1);
	if (bad) {
		ret = vgpio_request(h->core, line, op, value, &result);
		FUZZ_CHECK(ret == -EINVAL && result == 0xdeadbeef,
			   "bad request (line %u op %u value %u) returned %d",
			   line, op, value, ret);
		return;
	}
	/* The kernel's per-line mutex: one caller per line. */
	if (h->in_call[line] || run->depth >= STREAM_MAX_DEPTH)
		return;
	h->in_call[line] = true;
	h->users++;
	ret = vgpio_request(h->core, line, op, value, &result);
	h->users--;
	h->in_call[line] = false;
	check_result(run, op, value, ret, result, killed);
}

static void do_irq_sync(struct stream_run *run, unsigned int line)
{
	struct fuzz_host *h = &run->h;
	bool killed = h->killed;
	int ret;

	if (line >= ngpio_of(run)) {
		FUZZ_CHECK(vgpio_irq_sync(h->core, line) == -EINVAL, "sync");
		return;
	}
	if (h->in_call[line] || run->depth >= STREAM_MAX_DEPTH)
		return;
	h->in_call[line] = true;
	h->users++;
	ret = vgpio_irq_sync(h->core, line);
	h->users--;
	h->in_call[line] = false;
	if (!run->standard)
		FUZZ_CHECK(ret == 0, "ID 30 sync returned %d", ret);
	else if (killed)
		FUZZ_CHECK(ret == 0 || ret == -ENODEV || ret == -EOPNOTSUPP,
			   "sync after kill returned %d", ret);
	else
		FUZZ_CHECK(!ret || std_error_ok(ret), "sync returned %d", ret);
}

static int do_set_type(struct stream_run *run, unsigned int line,
		       unsigned int type)
{
	struct fuzz_host *h = &run->h;
	unsigned int supported = vgpio_core_irq_types(h->core);
	int ret = vgpio_irq_set_type(h->core, line, type), want;

	if (line >= ngpio_of(run) || type == VGPIO_IRQ_LEVEL_BOTH || type == 5)
		want = -EINVAL;
	else if (type & ~supported)
		want = -EOPNOTSUPP;
	else if (type != VGPIO_IRQ_NONE && line >= irq_lines_of(run))
		want = -ENOSPC;
	else
		want = 0;
	FUZZ_CHECK(ret == want, "set_type(%u, %u) returned %d, not %d", line,
		   type, ret, want);
	return ret;
}

static void do_enable(struct stream_run *run, unsigned int line, bool on)
{
	struct fuzz_host *h = &run->h;
	int ret = vgpio_irq_enable(h->core, line, on);

	if (line >= ngpio_of(run)) {
		FUZZ_CHECK(ret == -EINVAL, "enable of line %u", line);
		return;
	}
	FUZZ_CHECK(!ret, "enable returned %d", ret);
	h->irq_enabled[line] = on;
	h->irq_masked[line] = !on;
}

static void do_mask(struct stream_run *run, unsigned int line, bool masked)
{
	struct fuzz_host *h = &run->h;
	int ret = vgpio_irq_mask(h->core, line, masked);

	if (line >= ngpio_of(run)) {
		FUZZ_CHECK(ret == -EINVAL, "mask of line %u", line);
		return;
	}
	FUZZ_CHECK(!ret, "mask returned %d", ret);
	h->irq_masked[line] = masked;
}

/* A queue callback; a deferred arm the core asked for runs first. */
static void callback(struct stream_run *run, unsigned int vq)
{
	if (run->h.arm_pending) {
		run->h.arm_pending = false;
		vgpio_irq_arm_pending(run->h.core);
	}
	vgpio_vq_callback(run->h.core, vq);
}

/* The queue a step names: one the device has. */
static unsigned int pick_vq(struct stream_run *run)
{
	return fuzz_u8(&run->h.in) % vgpio_core_num_vqs(run->h.core);
}

/* ID 30 device: consume a request, answer it on the receive queue. */
static void id30_reply(struct stream_run *run)
{
	struct fuzz_host *h = &run->h;
	struct fuzz_vq *tx = &h->vq[VGPIO_ID30_VQ_TX];
	struct fuzz_vq *rx = &h->vq[VGPIO_ID30_VQ_RX];
	struct fuzz_chain *req = fuzz_vq_pending(tx, fuzz_u8(&h->in));
	uint8_t f = fuzz_u8(&h->in);
	struct vgpio_msg msg = { 0 }, rep;
	struct fuzz_chain *c;

	if (req) {
		fuzz_vq_read_out(req, &msg, sizeof(msg));
		if (!(f & 0x10))
			fuzz_vq_push_used(tx, req, fuzz_used_len(&h->in, 0));
	}
	rep.type = cpu_to_le16(f & 1 ? fuzz_u16(&h->in) :
			       le16_to_cpu(msg.type) | VGPIO_ID30_MSG_REPLY);
	rep.line = f & 2 ? cpu_to_le16(fuzz_u8(&h->in)) : msg.line;
	switch ((f >> 2) & 3) {
	case 0:
		rep.value = 0;
		break;
	case 1:
		rep.value = cpu_to_le32(1);
		break;
	case 2:
		rep.value = cpu_to_le32(-(int32_t)(1 + fuzz_u8(&h->in)));
		break;
	default:
		rep.value = cpu_to_le32(fuzz_u32(&h->in));
	}
	c = fuzz_vq_pending(rx, fuzz_u8(&h->in));
	if (!c)
		return;
	memcpy(c->in, &rep, c->in_len < sizeof(rep) ? c->in_len : sizeof(rep));
	fuzz_vq_push_used(rx, c, fuzz_used_len(&h->in, c->in_len));
	if (f & 0x80) {
		callback(run, VGPIO_ID30_VQ_TX);
		callback(run, VGPIO_ID30_VQ_RX);
	}
}

/* Standard device: answer a request in its own chain. */
static void std_reply(struct stream_run *run)
{
	struct fuzz_host *h = &run->h;
	struct fuzz_vq *q = &h->vq[VGPIO_STD_VQ_REQUEST];
	struct fuzz_chain *c = fuzz_vq_pending(q, fuzz_u8(&h->in));
	uint8_t f = fuzz_u8(&h->in), *in;
	static const uint8_t statuses[4] = {
		VGPIO_STD_STATUS_OK, VGPIO_STD_STATUS_ERR, 0, 0,
	};
	struct vgpio_msg req;

	if (!c)
		return;
	fuzz_vq_read_out(c, &req, sizeof(req));
	in = c->in;
	in[0] = (f & 3) == 2 ? fuzz_u8(&h->in) : statuses[f & 3];
	if (c->in_len > 1) {
		switch ((f >> 2) & 3) {
		case 0:
			in[1] = 0;
			break;
		case 1:
			in[1] = 1;
			break;
		case 2:
			in[1] = 2;
			break;
		default:
			in[1] = fuzz_u8(&h->in);
		}
	}
	fuzz_vq_push_used(q, c, fuzz_used_len(&h->in, c->in_len));
	if (f & 0x80)
		callback(run, VGPIO_STD_VQ_REQUEST);
}

/* A level change (ID 30 HOST_LEVEL) or an eventq buffer (standard). */
static void dev_event(struct stream_run *run)
{
	struct fuzz_host *h = &run->h;
	unsigned int vq = run->standard ? VGPIO_STD_VQ_EVENT : VGPIO_ID30_VQ_RX;
	struct fuzz_chain *c;
	uint8_t f;

	if (vq >= vgpio_core_num_vqs(h->core))
		return;
	c = fuzz_vq_pending(&h->vq[vq], fuzz_u8(&h->in));
	f = fuzz_u8(&h->in);
	if (!c)
		return;
	if (run->standard) {
		struct vgpio_std_irq_req req;
		uint8_t *status = c->in;

		fuzz_vq_read_out(c, &req, sizeof(req));
		FUZZ_CHECK(le16_to_cpu(req.gpio) < ngpio_of(run),
			   "eventq buffer for line %u", le16_to_cpu(req.gpio));
		switch (f & 3) {
		case 1:
			*status = VGPIO_STD_IRQ_STATUS_INVALID;
			break;
		case 2:
			*status = fuzz_u8(&h->in);
			break;
		default:
			*status = VGPIO_STD_IRQ_STATUS_VALID;
		}
	} else {
		struct vgpio_msg msg;

		msg.type = cpu_to_le16(f & 1 ? fuzz_u16(&h->in) :
				       VGPIO_ID30_MSG_HOST_LEVEL);
		msg.line = cpu_to_le16(pick_line(run));
		msg.value = cpu_to_le32(f & 2 ? fuzz_u32(&h->in) : (f >> 2) & 1);
		memcpy(c->in, &msg, sizeof(msg));
	}
	fuzz_vq_push_used(&h->vq[vq], c, fuzz_used_len(&h->in, c->in_len));
	if (f & 0x80)
		callback(run, vq);
}

/* The device writes what it likes into a chain and returns it. */
static void dev_raw(struct stream_run *run)
{
	struct fuzz_host *h = &run->h;
	unsigned int vq = pick_vq(run), n, i;
	struct fuzz_chain *c = fuzz_vq_pending(&h->vq[vq], fuzz_u8(&h->in));

	n = fuzz_u8(&h->in) % 16;
	if (!c)
		return;
	for (i = 0; i < n && i < c->in_len; i++)
		((uint8_t *)c->in)[i] = fuzz_u8(&h->in);
	fuzz_vq_push_used(&h->vq[vq], c, fuzz_used_len(&h->in, c->in_len));
}

/* The device returns a chain without writing anything. */
static void dev_consume(struct stream_run *run)
{
	struct fuzz_host *h = &run->h;
	unsigned int vq = pick_vq(run);
	struct fuzz_chain *c = fuzz_vq_pending(&h->vq[vq], fuzz_u8(&h->in));

	if (c)
		fuzz_vq_push_used(&h->vq[vq], c,
				  fuzz_used_len(&h->in, c->in_len));
}

static void do_kill(struct stream_run *run)
{
	struct fuzz_host *h = &run->h;
	unsigned long wakes = h->wakes;
	unsigned int i, waiting = 0;

	if (h->killed)
		return;
	for (i = 0; i < ngpio_of(run); i++)
		if (h->in_call[i] && h->core->lines[i].live &&
		    !h->core->lines[i].done)
			waiting++;
	vgpio_core_kill(h->core);
	h->killed = true;
	FUZZ_CHECK(h->wakes - wakes == waiting,
		   "kill woke %lu of %u waiters", h->wakes - wakes, waiting);
}

/* One step; a STEP_WAIT_* opcode is returned for the wait to act on. */
static int stream_step(struct stream_run *run)
{
	struct fuzz_host *h = &run->h;
	unsigned int step = fuzz_u8(&h->in) % STEP_COUNT, line;

	switch (step) {
	case STEP_REQUEST:
		do_request(run);
		break;
	case STEP_IRQ_SET_TYPE:
		line = pick_line(run);
		do_set_type(run, line, irq_types[fuzz_u8(&h->in) % 8]);
		break;
	case STEP_IRQ_ENABLE:
		line = pick_line(run);
		do_enable(run, line, fuzz_u8(&h->in) & 1);
		break;
	case STEP_IRQ_MASK:
		line = pick_line(run);
		do_mask(run, line, fuzz_u8(&h->in) & 1);
		break;
	case STEP_IRQ_SYNC:
		do_irq_sync(run, pick_line(run));
		break;
	case STEP_WATCH:
		/* What gpiolib does for an edge or level watch. */
		line = pick_line(run);
		if (do_set_type(run, line, irq_types[fuzz_u8(&h->in) % 8]))
			break;
		do_enable(run, line, true);
		do_irq_sync(run, line);
		break;
	case STEP_DEV_REPLY:
		if (run->standard)
			std_reply(run);
		else
			id30_reply(run);
		break;
	case STEP_DEV_RAW:
		dev_raw(run);
		break;
	case STEP_DEV_EVENT:
		dev_event(run);
		break;
	case STEP_DEV_BAD_USED:
		fuzz_vq_bad_used(&h->vq[pick_vq(run)]);
		break;
	case STEP_CALLBACK:
		callback(run, pick_vq(run));
		break;
	case STEP_KILL:
		do_kill(run);
		break;
	case STEP_DEV_CONSUME:
		dev_consume(run);
		break;
	default:
		return step;
	}
	fuzz_check_core(h);
	return -1;
}

/*
 * The caller sleeps: the input plays on. Like wait_event_killable_timeout
 * the wait ends with 0 only once the reply is there; a timeout or signal
 * may still be taken with the reply in (it came just after the wakeup).
 */
static int stream_wait(struct fuzz_host *h, unsigned int line)
{
	struct stream_run *run = (struct stream_run *)h;
	int ret = 1;

	run->depth++;
	while (ret > 0) {
		if (vgpio_line_done(h->core, line)) {
			ret = 0;
			break;
		}
		if (fuzz_empty(&h->in)) {
			ret = -ETIMEDOUT;
			break;
		}
		switch (stream_step(run)) {
		case STEP_WAIT_RETURN:
			ret = vgpio_line_done(h->core, line) ? 0 : -ETIMEDOUT;
			break;
		case STEP_WAIT_TIMEOUT:
			ret = -ETIMEDOUT;
			break;
		case STEP_WAIT_EINTR:
			ret = -EINTR;
			break;
		}
	}
	run->depth--;
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t cfg[VGPIO_ID30_CFG_LINE_NAMES] = { 0 };
	struct vgpio_dev_info info = { 0 };
	struct stream_run run = { 0 };
	struct fuzz_host *h = &run.h;
	unsigned int ngpio, i;
	const char *why;
	uint8_t proto;
	int ret;

	fuzz_host_init(h, data, size);
	h->wait = stream_wait;
	proto = fuzz_u8(&h->in);
	run.standard = proto & 1;
	ngpio = fuzz_u8(&h->in) + 1;
	if (run.standard) {
		info.device_id = VGPIO_STD_DEVICE_ID;
		info.irq = proto & 2;
		cfg[VGPIO_STD_CFG_NGPIO] = ngpio & 0xff;
		cfg[VGPIO_STD_CFG_NGPIO + 1] = ngpio >> 8;
		h->cfg_window = VGPIO_STD_CFG_SIZE;
		/* handle_level_irq: what the glue picks for a level-capable chip. */
		h->irq_mask_in_handler = info.irq;
	} else {
		info.device_id = VGPIO_ID30_DEVICE_ID;
		cfg[VGPIO_ID30_CFG_VERSION] = VGPIO_ID30_PROTO_VERSION;
		cfg[VGPIO_ID30_CFG_NGPIO] = ngpio & 0xff;
		cfg[VGPIO_ID30_CFG_NGPIO + 1] = ngpio >> 8;
		h->cfg_window = VGPIO_ID30_CFG_LINE_NAMES;
	}
	h->cfg = cfg;
	h->cfg_told = true;
	info.cfg_size = h->cfg_window;
	for (i = 0; i < VGPIO_MAX_VQS; i++)
		fuzz_vq_init(&h->vq[i], 1u << (fuzz_u8(&h->in) % 9));

	ret = vgpio_core_probe(&fuzz_host_ops, h, &info, &h->core, &why);
	FUZZ_CHECK(!ret, "probe of a valid device failed: %s (%d)", why, ret);
	ret = vgpio_core_start(h->core);
	FUZZ_CHECK(!ret, "start returned %d", ret);
	fuzz_check_core(h);

	while (!fuzz_empty(&h->in))
		stream_step(&run);

	for (i = 0; i < ngpio; i++)
		FUZZ_CHECK(!h->in_call[i], "line %u still in a call", i);
	fuzz_teardown(h);
	return 0;
}
