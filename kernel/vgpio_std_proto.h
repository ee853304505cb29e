/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Wire format of the standardized virtio GPIO device (virtio 1.2, "GPIO
 * Device", device ID 41).
 *
 * Linux ships the same layout as uapi/linux/virtio_gpio.h, but the core
 * also builds in userspace without kernel headers, so it keeps its own
 * copy under its own names; static_asserts pin every offset.
 */
#ifndef VGPIO_STD_PROTO_H
#define VGPIO_STD_PROTO_H

#include "vgpio_os.h"

#define VGPIO_STD_DEVICE_ID		41

/* Feature bit: the device has an eventq and delivers interrupts. */
#define VGPIO_STD_F_IRQ			0

/* Virtqueue indexes. */
#define VGPIO_STD_VQ_REQUEST		0
#define VGPIO_STD_VQ_EVENT		1

/* Config-space layout (offsets in bytes); each field is read on its own. */
#define VGPIO_STD_CFG_NGPIO		0x00
#define VGPIO_STD_CFG_NAMES_SIZE	0x04
#define VGPIO_STD_CFG_SIZE		0x08

/* ngpio is a 16-bit field: every count the spec can express is served. */
#define VGPIO_STD_MAX_LINES		0xffff

/* Most lines that take interrupts (vgpio_std_alloc_irq_slots()). */
#define VGPIO_STD_IRQ_LINES_MAX		4096

/*
 * Largest line-names block the driver fetches. The spec sets no bound; a
 * device claiming more keeps its lines, unnamed, rather than being
 * trusted with an allocation of its choosing (256 lines of 127
 * characters fit).
 */
#define VGPIO_STD_NAMES_MAX		32768

/* Request types (requestq). */
#define VGPIO_STD_MSG_GET_LINE_NAMES	0x0001
#define VGPIO_STD_MSG_GET_DIRECTION	0x0002
#define VGPIO_STD_MSG_SET_DIRECTION	0x0003
#define VGPIO_STD_MSG_GET_VALUE		0x0004
#define VGPIO_STD_MSG_SET_VALUE		0x0005
#define VGPIO_STD_MSG_SET_IRQ_TYPE	0x0006

/* Response status. */
#define VGPIO_STD_STATUS_OK		0x00
#define VGPIO_STD_STATUS_ERR		0x01

/* Directions (GET_DIRECTION result, SET_DIRECTION argument). */
#define VGPIO_STD_DIRECTION_NONE	0x00
#define VGPIO_STD_DIRECTION_OUT		0x01
#define VGPIO_STD_DIRECTION_IN		0x02

/* Interrupt types: the same values as the kernel's IRQ_TYPE_*. */
#define VGPIO_STD_IRQ_TYPE_NONE		0x00
#define VGPIO_STD_IRQ_TYPE_EDGE_RISING	0x01
#define VGPIO_STD_IRQ_TYPE_EDGE_FALLING	0x02
#define VGPIO_STD_IRQ_TYPE_EDGE_BOTH	0x03
#define VGPIO_STD_IRQ_TYPE_LEVEL_HIGH	0x04
#define VGPIO_STD_IRQ_TYPE_LEVEL_LOW	0x08

/* eventq response status. */
#define VGPIO_STD_IRQ_STATUS_INVALID	0x00
#define VGPIO_STD_IRQ_STATUS_VALID	0x01

/*
 * A request is struct vgpio_msg (vgpio_core.h), {le16 type, le16 gpio,
 * le32 value}: the layout the 2020 protocol's messages have too.
 */

/**
 * struct vgpio_std_resp - response to every request but GET_LINE_NAMES
 * @status: VGPIO_STD_STATUS_*
 * @value: result of GET_DIRECTION and GET_VALUE, else 0
 */
struct vgpio_std_resp {
	u8 status;
	u8 value;
};

/**
 * struct vgpio_std_irq_req - an eventq buffer, one per line
 * @gpio: the line it waits on
 */
struct vgpio_std_irq_req {
	__le16 gpio;
};

/**
 * struct vgpio_std_irq_resp - the device's answer on the eventq
 * @status: VGPIO_STD_IRQ_STATUS_*
 */
struct vgpio_std_irq_resp {
	u8 status;
};

static_assert(sizeof(struct vgpio_std_resp) == 2, "response is 2 bytes");
static_assert(sizeof(struct vgpio_std_irq_req) == 2, "irq request is 2 bytes");
static_assert(sizeof(struct vgpio_std_irq_resp) == 1, "irq response is 1 byte");

#endif /* VGPIO_STD_PROTO_H */
