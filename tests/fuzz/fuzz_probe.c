// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness: probe, start and teardown of the core against a
 * device of fuzzed ID, features and config space.
 *
 * Input layout (see make_corpus.py, which writes the seeds):
 *   u8  device ID: 0 -> 30 (2020 proposal), 1 -> 41 (standard), else the next byte
 *   u8  flags: bit 0 VIRTIO_GPIO_F_IRQ negotiated; bit 1 the host tells the
 *       core the window size (info.cfg_size); bit 2 the standard device
 *       stays silent at GET_LINE_NAMES
 *   u16 config window size the transport presents, modulo 4400
 *   u8  allocation that fails: 0..15 the Nth, else none
 *   u8  ring size: 1 << (value % 9) descriptors per queue
 *   ... the config window's bytes (zero past the input's end)
 *   ... standard protocol: the device's answer to GET_LINE_NAMES: a used
 *       length choice (fuzz_used_len) and the status + names bytes
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_host.h"

#define FUZZ_WINDOW_MAX	4400

struct probe_run {
	struct fuzz_host h;
	bool silent;
};

/* The device answers GET_LINE_NAMES from the rest of the input. */
static int probe_wait(struct fuzz_host *h, unsigned int line)
{
	struct probe_run *run = (struct probe_run *)h;
	struct fuzz_vq *q = &h->vq[VGPIO_STD_VQ_REQUEST];
	struct fuzz_chain *c = fuzz_vq_pending(q, 0);
	struct vgpio_msg req;
	uint32_t len;
	unsigned int i;

	FUZZ_CHECK(c, "waiting with no request posted");
	fuzz_vq_read_out(c, &req, sizeof(req));
	FUZZ_CHECK(le16_to_cpu(req.type) == VGPIO_STD_MSG_GET_LINE_NAMES &&
		   le16_to_cpu(req.line) == 0 && !req.value,
		   "start sent type %u line %u", le16_to_cpu(req.type),
		   le16_to_cpu(req.line));
	FUZZ_CHECK(c->in_len == h->core->names_size + 1,
		   "names buffer of %u bytes for a block of %u", c->in_len,
		   h->core->names_size);
	if (run->silent)
		return -ETIMEDOUT;
	len = fuzz_used_len(&h->in, c->in_len);
	for (i = 0; i < c->in_len && !fuzz_empty(&h->in); i++)
		((uint8_t *)c->in)[i] = fuzz_u8(&h->in);
	fuzz_vq_push_used(q, c, len);
	vgpio_vq_callback(h->core, VGPIO_STD_VQ_REQUEST);
	return vgpio_line_done(h->core, line) ? 0 : -ETIMEDOUT;
}

static void check_probed(struct fuzz_host *h, const struct vgpio_dev_info *info)
{
	struct vgpio_core *core = h->core;
	const char *const *names = vgpio_core_line_names(core);
	unsigned int i, ngpio = vgpio_core_ngpio(core);
	bool id30 = info->device_id == VGPIO_ID30_DEVICE_ID;

	FUZZ_CHECK(ngpio >= 1 &&
		   ngpio <= (id30 ? VGPIO_ID30_MAX_LINES : VGPIO_STD_MAX_LINES),
		   "ngpio %u", ngpio);
	FUZZ_CHECK(vgpio_core_protocol(core) ==
		   (id30 ? VGPIO_PROTOCOL_ID30 : VGPIO_PROTOCOL_STANDARD),
		   "protocol for ID %u", info->device_id);
	FUZZ_CHECK(vgpio_core_num_vqs(core) == (id30 || info->irq ? 2u : 1u),
		   "%u queues", vgpio_core_num_vqs(core));
	for (i = 0; i < VGPIO_MAX_VQS + 1; i++)
		FUZZ_CHECK(!vgpio_core_vq_name(core, i) ==
			   (i >= vgpio_core_num_vqs(core)), "queue %u name", i);
	FUZZ_CHECK(strnlen(vgpio_core_name(core),
			   VGPIO_ID30_CFG_NAME_LEN + 1) <=
		   VGPIO_ID30_CFG_NAME_LEN, "device name unterminated");
	FUZZ_CHECK(vgpio_core_irq_types(core) ==
		   (id30 ? VGPIO_IRQ_EDGE_BOTH :
		    info->irq ? VGPIO_IRQ_EDGE_BOTH | VGPIO_IRQ_LEVEL_BOTH : 0),
		   "irq types %#x", vgpio_core_irq_types(core));
	if (id30) {
		uint32_t names_size = core->names_size;
		uint8_t version = h->cfg[VGPIO_ID30_CFG_VERSION];

		FUZZ_CHECK(version == VGPIO_ID30_PROTO_VERSION,
			   "accepted version %u", version);
		FUZZ_CHECK(VGPIO_ID30_CFG_LINE_NAMES + names_size <=
			   (h->cfg_told ? h->cfg_window : VGPIO_CFG_WINDOW),
			   "names block of %u in a window of %u (told: %d)",
			   names_size, h->cfg_window, h->cfg_told);
	}
	for (i = 0; i < ngpio; i++) {
		if (!names[i])
			continue;
		FUZZ_CHECK(names[i] >= core->names_block &&
			   names[i] < core->names_block + core->names_size,
			   "name of line %u outside the names block", i);
		FUZZ_CHECK(strlen(names[i]) > 0, "empty name of line %u", i);
		FUZZ_CHECK(names[i] + strlen(names[i]) <=
			   core->names_block + core->names_size,
			   "name of line %u runs past the block", i);
	}
	for (i = 0; i < ngpio; i++)
		FUZZ_CHECK(vgpio_line_level(core, i) == -1, "level before events");
	FUZZ_CHECK(vgpio_line_level(core, ngpio) == -EINVAL, "level of line ngpio");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t cfg[FUZZ_WINDOW_MAX];
	struct probe_run run;
	struct fuzz_host *h = &run.h;
	struct vgpio_dev_info info = { 0 };
	unsigned int i, ring;
	const char *why = NULL;
	uint8_t sel, flags, fail;
	int ret;

	fuzz_host_init(h, data, size);
	h->wait = probe_wait;
	sel = fuzz_u8(&h->in);
	info.device_id = sel == 0 ? VGPIO_ID30_DEVICE_ID :
			 sel == 1 ? VGPIO_STD_DEVICE_ID : fuzz_u8(&h->in);
	flags = fuzz_u8(&h->in);
	info.irq = flags & 1;
	run.silent = flags & 4;
	h->cfg_window = fuzz_u16(&h->in) % FUZZ_WINDOW_MAX;
	/* A size of 0 is how a host says it does not know the size. */
	h->cfg_told = (flags & 2) && h->cfg_window;
	if (h->cfg_told)
		info.cfg_size = h->cfg_window;
	fail = fuzz_u8(&h->in);
	ring = 1u << (fuzz_u8(&h->in) % 9);
	for (i = 0; i < h->cfg_window; i++)
		cfg[i] = fuzz_u8(&h->in);
	h->cfg = cfg;

	if (fail < 16)
		vgpio_os_fail_after = fail;
	ret = vgpio_core_probe(&fuzz_host_ops, h, &info, &h->core, &why);
	vgpio_os_fail_after = -1;
	if (ret) {
		FUZZ_CHECK(ret == -ENODEV || ret == -EINVAL || ret == -ENOMEM,
			   "probe returned %d", ret);
		FUZZ_CHECK(ret != -ENOMEM || fail < 16, "ENOMEM with no failure");
		FUZZ_CHECK(!h->core && why && *why, "failed probe left a core");
		FUZZ_CHECK(vgpio_os_live_allocs == 0,
			   "failed probe leaked %ld allocations",
			   vgpio_os_live_allocs);
		return 0;
	}
	FUZZ_CHECK(h->core && !why, "probe succeeded without a core");
	check_probed(h, &info);

	for (i = 0; i < VGPIO_MAX_VQS; i++)
		fuzz_vq_init(&h->vq[i], ring);
	h->in_call[0] = true;
	ret = vgpio_core_start(h->core);
	h->in_call[0] = false;
	FUZZ_CHECK(ret == 0 || (ret == -ENOSPC &&
				vgpio_core_protocol(h->core) == VGPIO_PROTOCOL_ID30),
		   "start returned %d", ret);
	/* Names fetched at start obey the same rules as config-space ones. */
	check_probed(h, &info);
	fuzz_check_core(h);
	fuzz_teardown(h);
	return 0;
}
