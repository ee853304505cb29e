/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Wire format of the virtio-gpio protocol, version 1 (the 2020 proposal).
 *
 * Deliberately NOT named virtio_gpio.h: Linux 6.1 ships its own
 * uapi/linux/virtio_gpio.h for the later, standardized protocol, and an
 * out-of-tree build would silently pick up the kernel's header instead of
 * ours. For the same reason the device ID is defined here and never taken
 * from uapi/linux/virtio_ids.h (which says 41 for the standard device).
 *
 * Every multi-byte field is little-endian on the wire; the types say so,
 * so that sparse (make C=1) proves each access converts.
 */
#ifndef VGPIO_ID30_PROTO_H
#define VGPIO_ID30_PROTO_H

#include "vgpio_os.h"

/*
 * Device ID 30, as proposed in 2020. The official virtio ID list later gave
 * 30 to the video encoder; a device of that ID speaking another protocol is
 * told apart at probe by the config-space validation (version byte, line
 * count, names block), which such a device cannot pass by accident.
 */
#define VGPIO_ID30_DEVICE_ID		30

#define VGPIO_ID30_PROTO_VERSION	1

/* Config-space layout (offsets in bytes). */
#define VGPIO_ID30_CFG_VERSION		0x00
#define VGPIO_ID30_CFG_NGPIO		0x02
#define VGPIO_ID30_CFG_NAMES_SIZE	0x04
#define VGPIO_ID30_CFG_NAME		0x20
#define VGPIO_ID30_CFG_NAME_LEN		32
#define VGPIO_ID30_CFG_LINE_NAMES	0x40

/*
 * Upper bound on the whole config space the driver accepts. A names block
 * that would reach beyond it is rejected at probe.
 */
#define VGPIO_ID30_CFG_MAX_SIZE		4096

/* Most lines one device may declare (the proposal's bound). */
#define VGPIO_ID30_MAX_LINES		256

/* Virtqueue indexes. */
#define VGPIO_ID30_VQ_RX		0	/* device -> driver */
#define VGPIO_ID30_VQ_TX		1	/* driver -> device */
#define VGPIO_ID30_NUM_VQS		2

/* Message types (the "type" field). */
#define VGPIO_ID30_MSG_REQUEST		0x0001
#define VGPIO_ID30_MSG_DIRECTION_INPUT	0x0002
#define VGPIO_ID30_MSG_DIRECTION_OUTPUT	0x0003
#define VGPIO_ID30_MSG_GET_DIRECTION	0x0004
#define VGPIO_ID30_MSG_GET_VALUE	0x0005
#define VGPIO_ID30_MSG_SET_VALUE	0x0006
#define VGPIO_ID30_MSG_HOST_LEVEL	0x0011

/*
 * Reply rule: a reply carries the request's type with bit 15 set. The 2020
 * text OR'ed HOST_LEVEL (0x11) into replies, which makes a reply to
 * REQUEST (0x01 | 0x11 == 0x11) indistinguishable from a HOST_LEVEL event.
 * Bits 12..14 are reserved and must be zero.
 */
#define VGPIO_ID30_MSG_REPLY		0x8000
#define VGPIO_ID30_MSG_RESERVED		0x7000

/* Values of GET_DIRECTION replies. */
#define VGPIO_ID30_DIRECTION_OUT	0
#define VGPIO_ID30_DIRECTION_IN		1

/* Most negative errno a device may return (the kernel's MAX_ERRNO). */
#define VGPIO_ID30_MAX_ERRNO		4095

/**
 * struct vgpio_id30_config - fixed part of the config space
 * @version: protocol version, must be VGPIO_ID30_PROTO_VERSION
 * @reserved0: zero
 * @ngpio: number of lines
 * @names_size: size of the line-names block at VGPIO_ID30_CFG_LINE_NAMES
 * @reserved1: zero
 * @name: device name, NUL-terminated unless it uses all 32 bytes
 */
struct vgpio_id30_config {
	u8 version;
	u8 reserved0;
	__le16 ngpio;
	__le32 names_size;
	u8 reserved1[24];
	char name[VGPIO_ID30_CFG_NAME_LEN];
};

static_assert(offsetof(struct vgpio_id30_config, version) ==
	      VGPIO_ID30_CFG_VERSION, "version offset");
static_assert(offsetof(struct vgpio_id30_config, ngpio) ==
	      VGPIO_ID30_CFG_NGPIO, "ngpio offset");
static_assert(offsetof(struct vgpio_id30_config, names_size) ==
	      VGPIO_ID30_CFG_NAMES_SIZE, "names_size offset");
static_assert(offsetof(struct vgpio_id30_config, name) ==
	      VGPIO_ID30_CFG_NAME, "name offset");
static_assert(sizeof(struct vgpio_id30_config) == VGPIO_ID30_CFG_LINE_NAMES,
	      "line names follow the fixed part");

#endif /* VGPIO_ID30_PROTO_H */
