/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel API differences between 6.1 and the newest kernel, for the glue
 * (gpio-virtio.c) only: the glue is written against the current API and
 * this header maps it back onto older kernels, keyed on LINUX_VERSION_CODE.
 * The portable core never includes it.
 */
#ifndef VGPIO_COMPAT_H
#define VGPIO_COMPAT_H

#include <linux/device.h>
#include <linux/gpio/driver.h>
#include <linux/version.h>
#include <linux/virtio_config.h>

#include "vgpio_core.h"

/* 6.11: virtio_find_vqs() takes struct virtqueue_info[]; older: two arrays. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 11, 0)
/*
 * Our own name for the 6.11 struct, so that a distribution kernel that
 * carries it under an older version number does not clash with ours.
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

/*
 * The glue's gpio_chip.set(), with the current signature; gpiolib gets it
 * as vgpio_compat_gpio_set.
 */
static int vgpio_drv_set(struct gpio_chip *gc, unsigned int line, int value);

/* 6.17: gpio_chip.set() returns int; before, a failure can only be logged. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 17, 0)
static inline void vgpio_compat_gpio_set(struct gpio_chip *gc,
					 unsigned int line, int value)
{
	int ret = vgpio_drv_set(gc, line, value);

	if (ret)
		dev_warn_ratelimited(gc->parent, "setting line %u failed: %d\n",
				     line, ret);
}
#else
#define vgpio_compat_gpio_set	vgpio_drv_set
#endif

#endif /* VGPIO_COMPAT_H */
