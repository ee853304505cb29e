// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * GPIO driver for virtio-gpio devices: the 2020 proposal (device ID 30)
 * and the virtio 1.2 standard GPIO device (device ID 41).
 *
 * This file only maps the portable core (vgpio_core.c, vgpio_id30.c,
 * vgpio_std.c) onto the kernel: the virtio driver, a gpio_chip and an
 * irq_chip. Every protocol rule and every check of device input lives in
 * the core, where the userspace test suite exercises it.
 *
 * Based on the 2020 proposal by Enrico Weigelt, metux IT consult.
 */

#include <linux/bitmap.h>
#include <linux/gpio/driver.h>
#include <linux/irq.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "vgpio_compat.h"
#include "vgpio_core.h"
#include "vgpio_version.h"

static unsigned int timeout_ms = 2000;
module_param(timeout_ms, uint, 0644);
MODULE_PARM_DESC(timeout_ms,
		 "How long a GPIO operation waits for the device's reply, in ms (default 2000, at least 1)");

/*
 * The virtio spec gives device ID 30 to the video encoder; only the 2020
 * GPIO proposal used it (it moved to 41 in its v4). Binding it is asked
 * for, never assumed, and never autoloaded.
 */
static bool bind_id30;
module_param(bind_id30, bool, 0444);
MODULE_PARM_DESC(bind_id30,
		 "Also bind virtio device ID 30, as the 2020 virtio-gpio proposal numbered it (the virtio spec's video encoder; default off)");

/* The core's trigger types are the kernel's; checked so it stays true. */
static_assert(VGPIO_IRQ_EDGE_RISING == IRQ_TYPE_EDGE_RISING);
static_assert(VGPIO_IRQ_EDGE_FALLING == IRQ_TYPE_EDGE_FALLING);
static_assert(VGPIO_IRQ_EDGE_BOTH == IRQ_TYPE_EDGE_BOTH);
static_assert(VGPIO_IRQ_LEVEL_HIGH == IRQ_TYPE_LEVEL_HIGH);
static_assert(VGPIO_IRQ_LEVEL_LOW == IRQ_TYPE_LEVEL_LOW);

/**
 * struct vgpio_drv_line - per-line kernel state
 * @lock: serialises callers on one line (the core takes one at a time)
 * @wq: where the caller sleeps until the core has the reply
 */
struct vgpio_drv_line {
	struct mutex lock; /* one caller per line inside the core */
	wait_queue_head_t wq;
};

/**
 * struct vgpio_drv_chip - what gpiolib calls into: the part of a bound
 *	device that a caller can reach before it knows whether the device
 *	is still bound
 * @gc: the GPIO chip
 * @callers: held for reading by every gpio_chip operation, for writing by
 *	remove() and freeze to wait until the last one has left the driver
 * @vg: the bound device; NULL once remove() has passed
 * @frozen: between freeze (or reset_prepare) and restore (reset_done)
 * @retired: the entry in vgpio_drv_retired once @vg is gone (before
 *	6.9 only)
 *
 * Before 6.9, gpiolib reads its chip pointer, checks it, and calls the
 * chip's operation with nothing held: gpiochip_remove() does not wait for
 * a caller between the check and the call. Such a caller reaches @gc
 * after remove() returned, so this part is kept until the module is
 * unloaded (the caller holds a line, and with it a reference to the
 * module), and the caller finds @vg gone and leaves with -ENODEV.
 * From 6.9 gpiolib waits for its callers (SRCU), and remove() frees it.
 */
struct vgpio_drv_chip {
	struct gpio_chip gc;
	struct rw_semaphore callers;
	struct vgpio_drv *vg;
	bool frozen;
#ifndef VGPIO_GPIOLIB_WAITS_FOR_CALLERS
	struct list_head retired;
#endif
};

/**
 * struct vgpio_drv - one bound device
 * @vdev: the virtio device
 * @core: the portable core
 * @chip: what gpiolib calls into (struct vgpio_drv_chip)
 * @vqs: virtqueues, indexed as the protocol numbers them
 * @lines: per-line locks and wait queues, ngpio entries
 * @irq_lock: the irq_chip's bus lock (slow-bus irq configuration)
 * @irq_lock_owner: the task holding @irq_lock, whose bus sync will hand
 *	back the eventq buffer of a line it unmasks
 * @arm_work: hands eventq buffers back for interrupts unmasked outside a
 *	bus sync and outside their own handler (vgpio_irq_arm_pending())
 * @arm_retry_work: the same, a while after a buffer found no memory or
 *	ring room
 * @arm_retry_delay: how long the next retry waits, in jiffies
 */
struct vgpio_drv {
	struct virtio_device *vdev;
	struct vgpio_core *core;
	struct vgpio_drv_chip *chip;
	struct virtqueue *vqs[VGPIO_MAX_VQS];
	struct vgpio_drv_line *lines;
	struct mutex irq_lock; /* irq_bus_lock() .. irq_bus_sync_unlock() */
	struct task_struct *irq_lock_owner;
	struct work_struct arm_work;
	struct delayed_work arm_retry_work;
	unsigned long arm_retry_delay;
};

/*
 * Not gpiochip_get_data(): gpiochip_remove() clears that pointer while an
 * in-kernel consumer may still be calling in; the chip is embedded in
 * struct vgpio_drv_chip, which outlives that.
 */
static struct vgpio_drv_chip *vgpio_drv_chip_of(struct gpio_chip *gc)
{
	return container_of(gc, struct vgpio_drv_chip, gc);
}

/* ---- struct vgpio_host_ops for the kernel ---------------------------- */

/*
 * Field-width accesses, as the virtio spec requires for config space,
 * through virtio_cread*(), which convert from the device's byte order
 * (little-endian for the 1.x devices the core accepts); the core is
 * handed the little-endian bytes it converts itself. The core reads
 * fields of 1, 2 and 4 bytes; anything else goes byte by byte.
 */
static void vgpio_drv_cfg_get(void *ctx, unsigned int offset, void *buf,
			      unsigned int len)
{
	struct virtio_device *vdev = ((struct vgpio_drv *)ctx)->vdev;
	__le16 v16;
	__le32 v32;
	u8 *bytes = buf;
	unsigned int i;

	switch (len) {
	case sizeof(v16):
		v16 = cpu_to_le16(virtio_cread16(vdev, offset));
		memcpy(buf, &v16, sizeof(v16));
		break;
	case sizeof(v32):
		v32 = cpu_to_le32(virtio_cread32(vdev, offset));
		memcpy(buf, &v32, sizeof(v32));
		break;
	default:
		for (i = 0; i < len; i++)
			bytes[i] = virtio_cread8(vdev, offset + i);
	}
}

/*
 * What virtio_cread*() would check, left to the core: it reads the whole
 * config in one piece and gives up on a device that keeps changing it,
 * where those helpers would retry forever. virtio-mmio before version 2
 * and UML have no generation counter.
 */
static u32 vgpio_drv_cfg_generation(void *ctx)
{
	struct vgpio_drv *vg = ctx;
	const struct virtio_config_ops *config = vg->vdev->config;

	return config->generation ? config->generation(vg->vdev) : 0;
}

#ifdef CONFIG_PROVE_LOCKING
/*
 * With VIRTIO_F_ACCESS_PLATFORM, adding a buffer maps it and taking it
 * back unmaps it, and swiotlb does both under a spinlock_t. Lockdep only
 * sees that lock where buffers really are mapped (not on UML, not on most
 * test VMs), so it is told on every transport: with PROVE_RAW_LOCK_NESTING
 * (the debug UML kernel has it), a queue operation where a spinlock_t is
 * invalid, under a raw spinlock, is reported on every transport.
 */
static DEFINE_SPINLOCK(vgpio_drv_dma_map_lock);
#define vgpio_drv_might_map()	might_lock(&vgpio_drv_dma_map_lock)
#else
#define vgpio_drv_might_map()	do { } while (0)
#endif

/*
 * Called under the core's lock, a spinlock_t held with interrupts off,
 * where nothing may sleep: hence GFP_ATOMIC, for the two-entry indirect
 * table virtio_ring allocates when the device offers them. Should that
 * allocation fail, virtio_ring falls back to two ring entries. The
 * buffers are the core's kmalloc'ed, DMA-aligned slots: never on the
 * stack.
 */
static int vgpio_drv_add_chain(void *ctx, unsigned int vq, void *out,
			       unsigned int out_len, void *in,
			       unsigned int in_len, void *token)
{
	struct vgpio_drv *vg = ctx;
	struct scatterlist out_sg, in_sg, *sgs[2];
	unsigned int nout = 0, nin = 0;

	vgpio_drv_might_map();

	if (out) {
		sg_init_one(&out_sg, out, out_len);
		sgs[nout++] = &out_sg;
	}
	if (in) {
		sg_init_one(&in_sg, in, in_len);
		sgs[nout + nin++] = &in_sg;
	}
	return virtqueue_add_sgs(vg->vqs[vq], sgs, nout, nin, token,
				 GFP_ATOMIC);
}

static void *vgpio_drv_get_buf(void *ctx, unsigned int vq, unsigned int *len)
{
	struct vgpio_drv *vg = ctx;

	vgpio_drv_might_map();
	return virtqueue_get_buf(vg->vqs[vq], len);
}

static bool vgpio_drv_kick_prepare(void *ctx, unsigned int vq)
{
	struct vgpio_drv *vg = ctx;

	return virtqueue_kick_prepare(vg->vqs[vq]);
}

static void vgpio_drv_notify(void *ctx, unsigned int vq)
{
	struct vgpio_drv *vg = ctx;

	if (!virtqueue_notify(vg->vqs[vq]))
		dev_err_ratelimited(&vg->vdev->dev,
				    "notifying queue %u failed\n", vq);
}

/*
 * Killable and bounded: a signal or the timeout abandons the request, and
 * the core makes sure its late reply can never answer a newer one. After
 * a timeout the core sends nothing more until the device answers again.
 */
static int vgpio_drv_wait(void *ctx, struct vgpio_core *core,
			  unsigned int line)
{
	struct vgpio_drv *vg = ctx;
	long ret;

	ret = wait_event_killable_timeout(vg->lines[line].wq,
					  vgpio_line_done(core, line),
					  msecs_to_jiffies(max(timeout_ms, 1U)));
	if (ret > 0)
		return 0;
	return ret ? -EINTR : -ETIMEDOUT;
}

static void vgpio_drv_wake(void *ctx, unsigned int line)
{
	struct vgpio_drv *vg = ctx;

	wake_up(&vg->lines[line].wq);
}

/*
 * @line was bounds-checked by the core before this is called. The _safe
 * variant: on PREEMPT_RT the queue callback runs in a thread with
 * interrupts on, which the flow handler must not see.
 */
static void vgpio_drv_irq(void *ctx, unsigned int line)
{
	struct vgpio_drv *vg = ctx;

	if (generic_handle_domain_irq_safe(vg->chip->gc.irq.domain, line))
		dev_err_ratelimited(&vg->vdev->dev,
				    "no interrupt mapped for line %u\n", line);
}

/* Ratelimited: a broken device could otherwise flood the log. */
static void vgpio_drv_rejected(void *ctx, int err, const char *why)
{
	struct vgpio_drv *vg = ctx;

	dev_warn_ratelimited(&vg->vdev->dev, "dropped device message: %s (%d)\n",
			     why, err);
}

/*
 * Called from irq_unmask/irq_enable under the descriptor's raw lock,
 * where neither the core's lock, a spinlock_t (sleeping on PREEMPT_RT),
 * may be taken nor a buffer posted (mapping takes a spinlock_t): so the
 * work that does both is only scheduled. Not when this task holds the
 * bus lock: its irq_bus_sync_unlock() posts the buffer anyway, as on
 * every edge a oneshot thread handled (irq_finalize_oneshot()), where a
 * work item would only compete with the next edge for the CPU. In an
 * interrupt, current is whoever was interrupted: no skipping there.
 */
static void vgpio_drv_arm_later(void *ctx)
{
	struct vgpio_drv *vg = ctx;

	if (in_task() && READ_ONCE(vg->irq_lock_owner) == current)
		return;
	queue_work(system_percpu_wq, &vg->arm_work);
}

static void vgpio_drv_arm_work(struct work_struct *work)
{
	vgpio_irq_arm_pending(container_of(work, struct vgpio_drv,
					   arm_work)->core);
}

/*
 * The first retry after half a second, as virtio_net refills a receive
 * queue whose buffers found no memory: soon for an interrupt. Each retry
 * that fails again asks again, twice as late up to a minute, so that a
 * ring that stays full (lines holding two descriptors that never fire)
 * costs next to nothing; one that posts everything starts over.
 */
#define VGPIO_DRV_ARM_RETRY_FIRST	(HZ / 2)
#define VGPIO_DRV_ARM_RETRY_LAST	(60 * HZ)

/* Under the core's lock: only schedule. */
static void vgpio_drv_arm_retry(void *ctx)
{
	struct vgpio_drv *vg = ctx;

	queue_delayed_work(system_percpu_wq, &vg->arm_retry_work,
			   READ_ONCE(vg->arm_retry_delay));
}

static void vgpio_drv_arm_retry_work(struct work_struct *work)
{
	struct vgpio_drv *vg = container_of(to_delayed_work(work),
					    struct vgpio_drv, arm_retry_work);
	unsigned long delay = READ_ONCE(vg->arm_retry_delay);

	WRITE_ONCE(vg->arm_retry_delay,
		   min_t(unsigned long, 2 * delay, VGPIO_DRV_ARM_RETRY_LAST));
	if (!vgpio_irq_arm_pending(vg->core))
		WRITE_ONCE(vg->arm_retry_delay, VGPIO_DRV_ARM_RETRY_FIRST);
}

/*
 * Once the core posts nothing more (dead or detached), neither work can
 * be queued again: stop both.
 */
static void vgpio_drv_stop_arming(struct vgpio_drv *vg)
{
	cancel_work_sync(&vg->arm_work);
	cancel_delayed_work_sync(&vg->arm_retry_work);
}

/* Once per change, so a device that stays silent does not flood the log. */
static void vgpio_drv_silent(void *ctx, bool silent)
{
	struct vgpio_drv *vg = ctx;

	if (silent)
		dev_warn(&vg->vdev->dev, "no reply within %u ms: requests fail with ETIMEDOUT until the device answers again\n",
			 timeout_ms);
	else
		dev_info(&vg->vdev->dev, "device answers again\n");
}

static unsigned int vgpio_drv_vq_size(void *ctx, unsigned int vq)
{
	struct vgpio_drv *vg = ctx;

	return virtqueue_get_vring_size(vg->vqs[vq]);
}

static const struct vgpio_host_ops vgpio_drv_ops = {
	.cfg_get	= vgpio_drv_cfg_get,
	.cfg_generation	= vgpio_drv_cfg_generation,
	.arm_later	= vgpio_drv_arm_later,
	.arm_retry	= vgpio_drv_arm_retry,
	.add_chain	= vgpio_drv_add_chain,
	.get_buf	= vgpio_drv_get_buf,
	.kick_prepare	= vgpio_drv_kick_prepare,
	.notify		= vgpio_drv_notify,
	.wait		= vgpio_drv_wait,
	.wake		= vgpio_drv_wake,
	.irq		= vgpio_drv_irq,
	.rejected	= vgpio_drv_rejected,
	.vq_size	= vgpio_drv_vq_size,
	.silent		= vgpio_drv_silent,
};

/* ---- virtqueue callbacks --------------------------------------------- */

/* The core knows which queue is which for the device's protocol. */
static void vgpio_drv_vq_done(struct virtqueue *vq)
{
	struct vgpio_drv *vg = vq->vdev->priv;

	vgpio_vq_callback(vg->core, vq->index);
}

/* ---- gpio_chip ------------------------------------------------------- */

/*
 * The read side of @callers covers the whole operation, per-line mutex
 * included, so remove() cannot free anything a caller still touches. The
 * trylock fails while remove() waits for the callers in flight, and a
 * caller that comes after it finds the chip unbound (no @vg): either way
 * the device is going away. It fails too while a freeze waits for them:
 * then the device is being reset, and the core refuses new operations
 * with -ESHUTDOWN anyway.
 *
 * Registering the chip asks every line's direction, under the device
 * lock: a device that did not answer the first question gets no more (the
 * core fails the others at once), so a silent device costs probe one
 * timeout, not ngpio of them.
 */
static int vgpio_drv_request_op(struct gpio_chip *gc, unsigned int line,
				unsigned int type, u32 value, u32 *result)
{
	struct vgpio_drv_chip *chip = vgpio_drv_chip_of(gc);
	struct vgpio_drv *vg;
	int ret;

	if (!down_read_trylock(&chip->callers))
		return READ_ONCE(chip->frozen) ? -ESHUTDOWN : -ENODEV;
	vg = chip->vg;
	if (!vg) {
		ret = -ENODEV;
		goto out;
	}
	ret = mutex_lock_killable(&vg->lines[line].lock);
	if (!ret) {
		ret = vgpio_request(vg->core, line, type, value, result);
		mutex_unlock(&vg->lines[line].lock);
	}
	if (ret && type == VGPIO_OP_FREE && ret != -ENODEV && ret != -ESHUTDOWN)
		dev_warn_ratelimited(&vg->vdev->dev,
				     "freeing line %u failed: %d\n", line, ret);
out:
	up_read(&chip->callers);
	return ret;
}

static int vgpio_drv_gpio_request(struct gpio_chip *gc, unsigned int line)
{
	return vgpio_drv_request_op(gc, line, VGPIO_OP_REQUEST, 0, NULL);
}

/* A failure is logged by vgpio_drv_request_op(): gpiolib ignores it. */
static void vgpio_drv_gpio_free(struct gpio_chip *gc, unsigned int line)
{
	vgpio_drv_request_op(gc, line, VGPIO_OP_FREE, 0, NULL);
}

static int vgpio_drv_direction_input(struct gpio_chip *gc, unsigned int line)
{
	return vgpio_drv_request_op(gc, line,
				    VGPIO_OP_DIRECTION_INPUT, 0, NULL);
}

static int vgpio_drv_direction_output(struct gpio_chip *gc, unsigned int line,
				      int value)
{
	return vgpio_drv_request_op(gc, line, VGPIO_OP_DIRECTION_OUTPUT,
				    !!value, NULL);
}

static int vgpio_drv_get_direction(struct gpio_chip *gc, unsigned int line)
{
	u32 dir;
	int ret;

	ret = vgpio_drv_request_op(gc, line, VGPIO_OP_GET_DIRECTION, 0, &dir);
	if (ret)
		return ret;
	return dir == VGPIO_LINE_DIRECTION_IN ? GPIO_LINE_DIRECTION_IN :
						GPIO_LINE_DIRECTION_OUT;
}

static int vgpio_drv_get(struct gpio_chip *gc, unsigned int line)
{
	u32 value;
	int ret;

	ret = vgpio_drv_request_op(gc, line, VGPIO_OP_GET_VALUE, 0, &value);
	return ret ? ret : value;
}

static int vgpio_drv_set(struct gpio_chip *gc, unsigned int line, int value)
{
	return vgpio_drv_request_op(gc, line,
				    VGPIO_OP_SET_VALUE, !!value, NULL);
}

/* ---- irq_chip ---------------------------------------------------------- */

/*
 * The standard device learns the trigger type by a request, which sleeps:
 * so this is an irq_chip for a slow bus. enable/disable/mask/unmask and
 * set_type run under the descriptor's raw lock and only record what is
 * wanted; irq_bus_sync_unlock() tells the device and hands the line's
 * eventq buffer back, or the queue callback does once a handler ran, or
 * @arm_work does for an unmask outside both.
 */
static struct vgpio_drv *vgpio_drv_irq_drv(struct irq_data *d)
{
	struct gpio_chip *gc = irq_data_get_irq_chip_data(d);

	return vgpio_drv_chip_of(gc)->vg;
}

static void vgpio_drv_irq_enable(struct irq_data *d)
{
	struct gpio_chip *gc = irq_data_get_irq_chip_data(d);
	irq_hw_number_t hwirq = irqd_to_hwirq(d);

	gpiochip_enable_irq(gc, hwirq);
	vgpio_irq_enable(vgpio_drv_irq_drv(d)->core, hwirq, true);
}

static void vgpio_drv_irq_disable(struct irq_data *d)
{
	struct gpio_chip *gc = irq_data_get_irq_chip_data(d);
	irq_hw_number_t hwirq = irqd_to_hwirq(d);

	vgpio_irq_enable(vgpio_drv_irq_drv(d)->core, hwirq, false);
	gpiochip_disable_irq(gc, hwirq);
}

static void vgpio_drv_irq_mask(struct irq_data *d)
{
	vgpio_irq_mask(vgpio_drv_irq_drv(d)->core, irqd_to_hwirq(d), true);
}

static void vgpio_drv_irq_unmask(struct irq_data *d)
{
	vgpio_irq_mask(vgpio_drv_irq_drv(d)->core, irqd_to_hwirq(d), false);
}

/* The core refuses the types the device cannot deliver. */
static int vgpio_drv_irq_set_type(struct irq_data *d, unsigned int type)
{
	return vgpio_irq_set_type(vgpio_drv_irq_drv(d)->core, irqd_to_hwirq(d),
				  type & IRQ_TYPE_SENSE_MASK);
}

static void vgpio_drv_irq_bus_lock(struct irq_data *d)
{
	struct vgpio_drv *vg = vgpio_drv_irq_drv(d);

	mutex_lock(&vg->irq_lock);
	WRITE_ONCE(vg->irq_lock_owner, current);
}

/*
 * Process context, sleeping allowed: tell the device. While frozen the
 * core refuses (-ESHUTDOWN) and keeps what was asked for, which the
 * restore tells the device.
 */
static void vgpio_drv_irq_bus_sync_unlock(struct irq_data *d)
{
	struct vgpio_drv *vg = vgpio_drv_irq_drv(d);
	irq_hw_number_t hwirq = irqd_to_hwirq(d);
	int ret = -ENODEV;

	if (down_read_trylock(&vg->chip->callers)) {
		mutex_lock(&vg->lines[hwirq].lock);
		ret = vgpio_irq_sync(vg->core, hwirq);
		mutex_unlock(&vg->lines[hwirq].lock);
		up_read(&vg->chip->callers);
	}
	if (ret && ret != -ENODEV && ret != -ESHUTDOWN)
		dev_warn_ratelimited(&vg->vdev->dev,
				     "interrupt setup of line %lu failed: %d\n",
				     hwirq, ret);
	WRITE_ONCE(vg->irq_lock_owner, NULL);
	mutex_unlock(&vg->irq_lock);
}

static const struct irq_chip vgpio_drv_irq_chip = {
	.name			= "virtio-gpio",
	.irq_enable		= vgpio_drv_irq_enable,
	.irq_disable		= vgpio_drv_irq_disable,
	.irq_mask		= vgpio_drv_irq_mask,
	.irq_unmask		= vgpio_drv_irq_unmask,
	.irq_set_type		= vgpio_drv_irq_set_type,
	.irq_bus_lock		= vgpio_drv_irq_bus_lock,
	.irq_bus_sync_unlock	= vgpio_drv_irq_bus_sync_unlock,
	.flags			= IRQCHIP_IMMUTABLE | IRQCHIP_SKIP_SET_WAKE,
	GPIOCHIP_IRQ_RESOURCE_HELPERS,
};

/* ---- virtio driver ----------------------------------------------------- */

/*
 * The arm works are cancelled before the queues are deleted (remove(),
 * freeze): once the core is dead or detached they post nothing, and once
 * cancelled they no longer run at all.
 */
static void vgpio_drv_free(struct vgpio_drv *vg)
{
	vgpio_core_destroy(vg->core);
	kvfree(vg->lines);
	kfree(vg->chip);
	kfree(vg);
}

#ifndef VGPIO_GPIOLIB_WAITS_FOR_CALLERS
/* The chips of unbound devices, which gpiolib may still call into. */
static LIST_HEAD(vgpio_drv_retired);
static DEFINE_MUTEX(vgpio_drv_retired_lock);

/* Keeps the chip remove() has let go of until module exit. */
static void vgpio_drv_retire_chip(struct vgpio_drv *vg)
{
	mutex_lock(&vgpio_drv_retired_lock);
	list_add(&vg->chip->retired, &vgpio_drv_retired);
	mutex_unlock(&vgpio_drv_retired_lock);
	vg->chip = NULL;
}

/*
 * Every device is unbound, and no caller is left in a retired chip: each
 * held a line, and with it a reference to this module.
 */
static void vgpio_drv_free_retired(void)
{
	struct vgpio_drv_chip *chip, *next;

	list_for_each_entry_safe(chip, next, &vgpio_drv_retired, retired)
		kfree(chip);
}
#else
/* gpiolib waits for its callers: the chip goes with the device. */
static void vgpio_drv_retire_chip(struct vgpio_drv *vg)
{
}

static void vgpio_drv_free_retired(void)
{
}
#endif

static int vgpio_drv_find_vqs(struct vgpio_drv *vg)
{
	struct vgpio_vq_info vqs_info[VGPIO_MAX_VQS] = {};
	unsigned int i, n = vgpio_core_num_vqs(vg->core);

	for (i = 0; i < n; i++) {
		vqs_info[i].callback = vgpio_drv_vq_done;
		vqs_info[i].name = vgpio_core_vq_name(vg->core, i);
	}
	return vgpio_find_vqs(vg->vdev, n, vg->vqs, vqs_info);
}

/*
 * Lines past the eventq's capacity can never fire: gpiolib gives them no
 * interrupt mapping, and asking for one fails with -ENXIO.
 */
static void vgpio_drv_irq_valid_mask(struct gpio_chip *gc,
				     unsigned long *valid_mask,
				     unsigned int ngpios)
{
	unsigned int fit = vgpio_core_irq_lines(vgpio_drv_chip_of(gc)->vg->core);

	if (fit < ngpios)
		bitmap_clear(valid_mask, fit, ngpios - fit);
}

/*
 * Reset the device, so it stops using our buffers, wait out queue
 * callbacks still running (the reset alone does not on every transport),
 * and delete the queues. The chains the device still held (eventq
 * buffers, abandoned requests) are detached first: with indirect
 * descriptors each has a table that only detaching frees. The buffers
 * themselves are the core's. The queues are forgotten, so a teardown
 * after a restore that could not make new ones deletes nothing twice.
 */
static void vgpio_drv_del_vqs(struct vgpio_drv *vg)
{
	unsigned int i;

	if (!vg->vqs[0])
		return;
	virtio_reset_device(vg->vdev);
	virtio_synchronize_cbs(vg->vdev);
	for (i = 0; i < vgpio_core_num_vqs(vg->core); i++)
		while (virtqueue_detach_unused_buf(vg->vqs[i]))
			;
	vg->vdev->config->del_vqs(vg->vdev);
	memset(vg->vqs, 0, sizeof(vg->vqs));
}

static void vgpio_drv_init_chip(struct vgpio_drv *vg)
{
	struct gpio_chip *gc = &vg->chip->gc;
	const char *name = vgpio_core_name(vg->core);
	struct gpio_irq_chip *girq = &gc->irq;
	unsigned int types;

	gc->label = name[0] ? name : dev_name(&vg->vdev->dev);
	gc->parent = &vg->vdev->dev;
	gc->owner = THIS_MODULE;
	gc->base = -1;
	gc->ngpio = vgpio_core_ngpio(vg->core);
	gc->names = vgpio_core_line_names(vg->core);
	gc->can_sleep = true;
	gc->request = vgpio_drv_gpio_request;
	gc->free = vgpio_drv_gpio_free;
	gc->direction_input = vgpio_drv_direction_input;
	gc->direction_output = vgpio_drv_direction_output;
	gc->get_direction = vgpio_drv_get_direction;
	gc->get = vgpio_drv_get;
	vgpio_compat_init_set(gc);

	types = vgpio_core_irq_types(vg->core);
	if (!types)
		return;
	/* Events come from the device, not from a parent interrupt. */
	gpio_irq_chip_set_chip(girq, &vgpio_drv_irq_chip);
	girq->parent_handler = NULL;
	girq->num_parents = 0;
	girq->parents = NULL;
	girq->default_type = IRQ_TYPE_NONE;
	girq->init_valid_mask = vgpio_drv_irq_valid_mask;
	/*
	 * A standard device returns its buffer per interrupt: masking while
	 * the handler runs is handle_level_irq's flow, and the buffer goes
	 * back once the line is unmasked (by the queue callback after the
	 * handler, or at the bus sync after a oneshot thread). ID 30 events
	 * need no acknowledgment.
	 */
	girq->handler = types & VGPIO_IRQ_LEVEL_BOTH ? handle_level_irq :
						       handle_simple_irq;
}

static int vgpio_drv_probe(struct virtio_device *vdev)
{
	struct vgpio_dev_info info = {
		.device_id = vdev->id.device,
		.irq = virtio_has_feature(vdev, VGPIO_STD_F_IRQ),
		.indirect = virtio_has_feature(vdev,
					       VIRTIO_RING_F_INDIRECT_DESC),
		.legacy = !virtio_has_feature(vdev, VIRTIO_F_VERSION_1),
	};
	struct device *dev = &vdev->dev;
	struct vgpio_drv *vg;
	unsigned int i, ngpio;
	const char *why;
	int ret;

	vg = kzalloc(sizeof(*vg), GFP_KERNEL);
	if (!vg)
		return -ENOMEM;
	vg->chip = kzalloc(sizeof(*vg->chip), GFP_KERNEL);
	if (!vg->chip) {
		kfree(vg);
		return -ENOMEM;
	}
	vg->chip->vg = vg;
	init_rwsem(&vg->chip->callers);
	vg->vdev = vdev;
	vdev->priv = vg;
	mutex_init(&vg->irq_lock);
	INIT_WORK(&vg->arm_work, vgpio_drv_arm_work);
	INIT_DELAYED_WORK(&vg->arm_retry_work, vgpio_drv_arm_retry_work);
	vg->arm_retry_delay = VGPIO_DRV_ARM_RETRY_FIRST;

	ret = vgpio_core_probe(&vgpio_drv_ops, vg, &info, &vg->core, &why);
	if (ret) {
		dev_err(dev, "device rejected: %s (%d)\n", why, ret);
		goto err_free;
	}
	ngpio = vgpio_core_ngpio(vg->core);
	vg->lines = kvcalloc(ngpio, sizeof(*vg->lines), GFP_KERNEL);
	if (!vg->lines) {
		ret = -ENOMEM;
		goto err_free;
	}
	for (i = 0; i < ngpio; i++) {
		mutex_init(&vg->lines[i].lock);
		init_waitqueue_head(&vg->lines[i].wq);
	}

	ret = vgpio_drv_find_vqs(vg);
	if (ret) {
		dev_err(dev, "cannot find virtqueues: %d\n", ret);
		goto err_free;
	}
	virtio_device_ready(vdev);
	ret = vgpio_core_start(vg->core);
	if (ret) {
		dev_err(dev, "cannot start the device: %d\n", ret);
		goto err_reset;
	}

	if (vgpio_core_irq_types(vg->core) &&
	    vgpio_core_irq_lines(vg->core) < ngpio)
		dev_warn(dev, "eventq too small for %u lines: lines %u and up have no interrupt\n",
			 ngpio, vgpio_core_irq_lines(vg->core));

	vgpio_drv_init_chip(vg);
	ret = gpiochip_add_data(&vg->chip->gc, vg);
	if (ret == -ENOSPC) {
		/* Before 6.2, gpiolib numbers all lines in ARCH_NR_GPIOS. */
		dev_err(dev, "cannot register GPIO chip: no room in gpiolib for %u lines (%d)\n",
			ngpio, ret);
		goto err_reset;
	}
	if (ret) {
		dev_err(dev, "cannot register GPIO chip: %d\n", ret);
		goto err_reset;
	}
	dev_info(dev, "%s: %u lines\n", vg->chip->gc.label, ngpio);
	return 0;

err_reset:
	vgpio_core_kill(vg->core);
	vgpio_drv_stop_arming(vg);
	vgpio_drv_del_vqs(vg);
err_free:
	vgpio_drv_free(vg);
	vdev->priv = NULL;
	return ret;
}

/*
 * Teardown order, so that nothing is freed while the device, a callback
 * or a caller may still use it:
 * 1. kill the core: new requests fail, waiters return -ENODEV, no new
 *    interrupt is raised; then wait out callbacks already running, so
 *    none raises one on the domain gpiochip_remove() is about to free;
 * 2. remove the chip, then wait until no caller is left in the driver
 *    (the callers it woke leave at once with -ENODEV), and unbind the
 *    chip from the device, so that a caller gpiolib lets in late finds
 *    no device (struct vgpio_drv_chip);
 * 3. stop the arm works: no irq_chip callback can queue one any more,
 *    nor can a late answer or a failed post (the core is dead);
 * 4. reset the device so it stops using our buffers, delete the queues
 *    (vgpio_drv_del_vqs());
 * 5. only then free the core and its buffers, and the chip where gpiolib
 *    waits for its callers (else it is kept until module exit).
 */
static void vgpio_drv_remove(struct virtio_device *vdev)
{
	struct vgpio_drv *vg = vdev->priv;

	vgpio_core_kill(vg->core);
	virtio_synchronize_cbs(vdev);
	gpiochip_remove(&vg->chip->gc);
	down_write(&vg->chip->callers);
	vg->chip->vg = NULL;	/* a caller let in late finds no device */
	up_write(&vg->chip->callers);
	vgpio_drv_stop_arming(vg);
	vgpio_drv_del_vqs(vg);
	vgpio_drv_retire_chip(vg);
	vgpio_drv_free(vg);
}

/*
 * Before a reset the driver survives (suspend, hibernation, a transport's
 * reset): new operations are refused with -ESHUTDOWN, those in flight
 * finish (their wait is bounded by timeout_ms, and killable); then
 * nothing more is posted, the arm works are stopped, and the device is
 * reset and its queues deleted. The chip and its interrupts stay
 * registered: what they need from the device is kept in the core.
 */
static int __maybe_unused vgpio_drv_quiesce(struct virtio_device *vdev)
{
	struct vgpio_drv *vg = vdev->priv;

	WRITE_ONCE(vg->chip->frozen, true);
	vgpio_core_quiesce(vg->core);
	down_write(&vg->chip->callers);
	up_write(&vg->chip->callers);
	vgpio_core_detach(vg->core);
	vgpio_drv_stop_arming(vg);
	vgpio_drv_del_vqs(vg);
	return 0;
}

/*
 * The virtio core has reset the device and negotiated its features again:
 * new queues, DRIVER_OK, then the core tells the device what it had been
 * told (directions, levels, trigger types) and hands back the eventq
 * buffers of the enabled interrupts. A device that does not answer costs
 * one timeout and leaves the lines as it has them; the chip stays usable.
 */
static int __maybe_unused vgpio_drv_resume(struct virtio_device *vdev)
{
	struct vgpio_drv *vg = vdev->priv;
	int ret;

	ret = vgpio_drv_find_vqs(vg);
	if (ret) {
		dev_err(&vdev->dev, "cannot find virtqueues: %d\n", ret);
		return ret;
	}
	virtio_device_ready(vdev);
	ret = vgpio_core_resume(vg->core);
	WRITE_ONCE(vg->chip->frozen, false);
	if (ret)
		dev_warn(&vdev->dev, "restoring the lines' state failed: %d\n",
			 ret);
	return 0;
}

/* Neither protocol has run-time config; nothing may change. */
static void vgpio_drv_config_changed(struct virtio_device *vdev)
{
	dev_warn_ratelimited(&vdev->dev, "config change ignored\n");
}

/*
 * The 2020 protocol has no feature bits: whatever an ID 30 device offers
 * in the device-type range means something else (to a video encoder, its
 * own features), so none of it is acknowledged. Transport features, such
 * as indirect descriptors, stay as the virtio core negotiates them.
 */
static int vgpio_drv_validate(struct virtio_device *vdev)
{
	unsigned int bit;

	if (vdev->id.device == VGPIO_ID30_DEVICE_ID)
		for (bit = 0; bit < VIRTIO_TRANSPORT_F_START; bit++)
			__virtio_clear_bit(vdev, bit);
	return 0;
}

/*
 * The core picks the protocol from the ID at probe. Only the standard
 * device autoloads the module; ID 30 is bound with bind_id30 alone.
 */
static const struct virtio_device_id vgpio_drv_id_table[] = {
	{ VGPIO_STD_DEVICE_ID, VIRTIO_DEV_ANY_ID },
	{ 0 },
};
MODULE_DEVICE_TABLE(virtio, vgpio_drv_id_table);

static const struct virtio_device_id vgpio_drv_id_table_with_id30[] = {
	{ VGPIO_ID30_DEVICE_ID, VIRTIO_DEV_ANY_ID },
	{ VGPIO_STD_DEVICE_ID, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

static const unsigned int vgpio_drv_features[] = {
	VGPIO_STD_F_IRQ,
};

static struct virtio_driver vgpio_drv_driver = {
	.driver.name	= KBUILD_MODNAME,
	.driver.owner	= THIS_MODULE,
	.id_table	= vgpio_drv_id_table,
	.feature_table	= vgpio_drv_features,
	.feature_table_size = ARRAY_SIZE(vgpio_drv_features),
	.validate	= vgpio_drv_validate,
	.probe		= vgpio_drv_probe,
	.remove		= vgpio_drv_remove,
	.config_changed	= vgpio_drv_config_changed,
#ifdef CONFIG_PM_SLEEP
	.freeze		= vgpio_drv_quiesce,
	.restore	= vgpio_drv_resume,
#endif
#ifdef VGPIO_HAVE_VIRTIO_RESET_HOOKS
	.reset_prepare	= vgpio_drv_quiesce,
	.reset_done	= vgpio_drv_resume,
#endif
};

static int __init vgpio_drv_init(void)
{
	if (bind_id30)
		vgpio_drv_driver.id_table = vgpio_drv_id_table_with_id30;
	return register_virtio_driver(&vgpio_drv_driver);
}
module_init(vgpio_drv_init);

static void __exit vgpio_drv_exit(void)
{
	unregister_virtio_driver(&vgpio_drv_driver);
	vgpio_drv_free_retired();
}
module_exit(vgpio_drv_exit);

MODULE_DESCRIPTION("GPIO driver for virtio-gpio devices (device IDs 30 and 41)");
MODULE_LICENSE("GPL");
MODULE_VERSION(VGPIO_VERSION);
