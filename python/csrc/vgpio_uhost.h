/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The userspace host of the portable core: struct vgpio_host_ops mapped
 * onto simulated virtqueues (one or two, as the protocol has), a
 * config-space byte array, and five callbacks (wait, notify, wake, irq,
 * rejected) into whoever plays the device (the Python model or the C
 * loopback of the benchmark).
 */
#ifndef VGPIO_UHOST_H
#define VGPIO_UHOST_H

#include "simvq.h"
#include "vgpio_core.h"

struct vgpio_uhost {
	struct simvq *vq[VGPIO_MAX_VQS];
	const unsigned char *cfg;
	unsigned int cfg_len;
	/* config bytes the transport serves; a read past them is a crash */
	unsigned int cfg_window;
	unsigned int cfg_reads;
	unsigned int cfg_widest_read;
	unsigned int cfg_reads_past_window;
	/*
	 * The config generation, and a change the device makes while the
	 * driver reads: at read number cfg_change_at (counted from 1; 0:
	 * never) the config becomes cfg_next and the generation moves on.
	 * With cfg_always_changing every read moves it on.
	 */
	unsigned int cfg_generation;
	unsigned int cfg_change_at;
	const unsigned char *cfg_next;
	unsigned int cfg_next_len;
	bool cfg_always_changing;
	/*
	 * Deferred arms the core asked for (arm_later), as a kernel work
	 * item would be queued: the transport runs vgpio_irq_arm_pending()
	 * when it next runs the device, and clears this.
	 */
	unsigned int arm_pending;
	/*
	 * Retries the core asked for after a failed post (arm_retry), as a
	 * kernel delayed work item would be queued: run with the deferred
	 * arms, and cleared then.
	 */
	unsigned int arm_retries;
	void *handle;
	int (*wait)(void *handle, unsigned int line);
	void (*notify)(void *handle, unsigned int vq);
	void (*wake)(void *handle, unsigned int line);
	void (*irq)(void *handle, unsigned int line);
	void (*rejected)(void *handle, int err, const char *why);
};

extern const struct vgpio_host_ops vgpio_uhost_ops;

#endif /* VGPIO_UHOST_H */
