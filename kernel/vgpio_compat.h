/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel API differences between 6.1 and the newest kernel, for the glue
 * (gpio-virtio.c) only: the glue is written against the current API and
 * this header maps it back onto older kernels. Each difference is keyed
 * on a VGPIO_HAVE_* feature that Kbuild finds in the headers built
 * against, not on the kernel's version number: a distribution kernel may
 * carry a change under an older one. The portable core never
 * includes it.
 */
#ifndef VGPIO_COMPAT_H
#define VGPIO_COMPAT_H

#include <linux/device.h>
#include <linux/gpio/driver.h>
#include <linux/virtio_config.h>

#include "vgpio_core.h"

/* 6.11: virtio_find_vqs() takes struct virtqueue_info[]; older: two arrays. */
#ifndef VGPIO_HAVE_VQ_INFO
/*
 * Our own name for the 6.11 struct, so that a kernel that carries it
 * without Kbuild finding it does not clash with ours.
 */
struct vgpio_vq_info {
	const char *name;
	vq_callback_t *callback;
};

static inline int vgpio_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
				 struct virtqueue *vqs[],
				 struct vgpio_vq_info vqs_info[])
{
	vq_callback_t *callbacks[VGPIO_MAX_VQS];
	const char *names[VGPIO_MAX_VQS];
	unsigned int i;

	if (nvqs > VGPIO_MAX_VQS)
		return -EINVAL;
	for (i = 0; i < nvqs; i++) {
		callbacks[i] = vqs_info[i].callback;
		names[i] = vqs_info[i].name;
	}
	return virtio_find_vqs(vdev, nvqs, vqs, callbacks, names, NULL);
}
#else
#define vgpio_vq_info virtqueue_info

static inline int vgpio_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
				 struct virtqueue *vqs[],
				 struct vgpio_vq_info vqs_info[])
{
	return virtio_find_vqs(vdev, nvqs, vqs, vqs_info, NULL);
}
#endif

/* The glue's gpio_chip.set(), with the current signature. */
static int vgpio_drv_set(struct gpio_chip *gc, unsigned int line, int value);

/*
 * 6.17: gpio_chip.set() returns int. 6.15 to 6.16 (and kernels with the
 * change backported): set_rv() does, beside a set() that returns
 * nothing. Before, a failure can only be logged.
 */
#if defined(VGPIO_HAVE_INT_SET)
static inline void vgpio_compat_init_set(struct gpio_chip *gc)
{
	gc->set = vgpio_drv_set;
}
#elif defined(VGPIO_HAVE_SET_RV)
static inline void vgpio_compat_init_set(struct gpio_chip *gc)
{
	gc->set_rv = vgpio_drv_set;
}
#else
static inline void vgpio_compat_gpio_set(struct gpio_chip *gc,
					 unsigned int line, int value)
{
	int ret = vgpio_drv_set(gc, line, value);

	if (ret)
		dev_warn_ratelimited(gc->parent, "setting line %u failed: %d\n",
				     line, ret);
}

static inline void vgpio_compat_init_set(struct gpio_chip *gc)
{
	gc->set = vgpio_compat_gpio_set;
}
#endif

/*
 * 7.3: system_wq is marked for removal in favour of system_percpu_wq,
 * the same per-CPU workqueue under its new name; 6.1 has only the old
 * one.
 */
#ifndef VGPIO_HAVE_SYSTEM_PERCPU_WQ
#define system_percpu_wq	system_wq
#endif

#endif /* VGPIO_COMPAT_H */
