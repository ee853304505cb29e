// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The C side of `make bench`: the same core and simulated rings as the
 * Python tests, but the device is a C loopback that answers GET_VALUE
 * inline. Prints ops/s of get_value round trips; bench.py compares it
 * with the same loop driven from Python.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vgpio_uhost.h"

struct loopback {
	struct vgpio_uhost host;
	struct vgpio_core *core;
	unsigned char level;
};

/* The device: answer every queued request, then "interrupt". */
static int loop_wait(void *handle, unsigned int line)
{
	struct loopback *lb = handle;
	struct simvq *tx = lb->host.vq[VGPIO_ID30_VQ_TX];
	struct simvq *rx = lb->host.vq[VGPIO_ID30_VQ_RX];
	struct vgpio_msg req, rep;
	int id, rid;

	while ((id = simvq_pop_avail(tx)) >= 0) {
		simvq_read(tx, id, &req, sizeof(req));
		simvq_push_used(tx, id, 0);
		rid = simvq_pop_avail(rx);
		if (rid < 0)
			return -ENOSPC;
		rep.type = cpu_to_le16(le16_to_cpu(req.type) |
				       VGPIO_ID30_MSG_REPLY);
		rep.line = req.line;
		rep.value = cpu_to_le32(lb->level);
		simvq_write(rx, rid, &rep, sizeof(rep));
		simvq_push_used(rx, rid, sizeof(rep));
	}
	vgpio_vq_callback(lb->core, VGPIO_ID30_VQ_RX);
	vgpio_vq_callback(lb->core, VGPIO_ID30_VQ_TX);
	return vgpio_line_done(lb->core, line) ? 0 : -ETIMEDOUT;
}

static void loop_notify(void *handle, unsigned int vq)
{
	(void)handle;
	(void)vq;
}

static void loop_line(void *handle, unsigned int line)
{
	(void)handle;
	(void)line;
}

static void loop_rejected(void *handle, int err, const char *why)
{
	(void)handle;
	fprintf(stderr, "bench: device message dropped: %s (%d)\n", why, err);
}

int main(int argc, char **argv)
{
	static const unsigned char cfg[VGPIO_ID30_CFG_LINE_NAMES] = {
		[VGPIO_ID30_CFG_VERSION] = VGPIO_ID30_PROTO_VERSION,
		[VGPIO_ID30_CFG_NGPIO] = 8,
	};
	long ops = argc > 1 ? atol(argv[1]) : 200000;
	const struct vgpio_dev_info info = {
		.device_id = VGPIO_ID30_DEVICE_ID, .cfg_size = sizeof(cfg),
	};
	struct loopback lb = { .level = 1 };
	struct timespec t0, t1;
	const char *why;
	double secs;
	u32 value;
	long i;

	lb.host.vq[VGPIO_ID30_VQ_RX] = simvq_new(64);
	lb.host.vq[VGPIO_ID30_VQ_TX] = simvq_new(64);
	lb.host.cfg = cfg;
	lb.host.cfg_len = sizeof(cfg);
	lb.host.handle = &lb;
	lb.host.wait = loop_wait;
	lb.host.notify = loop_notify;
	lb.host.wake = loop_line;
	lb.host.irq = loop_line;
	lb.host.rejected = loop_rejected;
	if (vgpio_core_probe(&vgpio_uhost_ops, &lb.host, &info, &lb.core, &why) || vgpio_core_start(lb.core)) {
		fprintf(stderr, "bench: probe failed\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < ops; i++) {
		if (vgpio_request(lb.core, i & 7, VGPIO_OP_GET_VALUE, 0,
				  &value) || value != 1) {
			fprintf(stderr, "bench: request %ld failed\n", i);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%ld %.9f\n", ops, secs);
	vgpio_core_kill(lb.core);
	vgpio_core_destroy(lb.core);
	simvq_free(lb.host.vq[0]);
	simvq_free(lb.host.vq[1]);
	return 0;
}
