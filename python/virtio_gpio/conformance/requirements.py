"""What the device checker checks: one row per requirement, in the order
it checks them.

The ids are those of ``Documentation/conformance.rst`` where it has the
statement (``V-D-n``: the device statements of the virtio 1.4 GPIO
section). The checker adds its own for what a device must do that the
section says without a requirement keyword (``V-DX-n``: field
definitions, message tables, message flow), for what every virtio device
must do with a split virtqueue (``VQ-n``, virtio 1.x "Virtqueues"), and
for the vhost-user steps a GPIO backend has to answer (``VU-n``).

This table is the only list: ``Documentation/conformance-kit.rst``
shows it, and a test keeps the two equal.
"""

import dataclasses

#: what a requirement needs to be observed at all
NEEDS_IRQ = "irq"          #: the device offers VIRTIO_GPIO_F_IRQ
NEEDS_CONTROL = "control"  #: --control: the checker drives input lines


@dataclasses.dataclass(frozen=True)
class Requirement:
    """One statement a device is checked against."""

    id: str
    #: where it is stated
    section: str
    #: the statement, short
    statement: str
    #: NEEDS_IRQ, NEEDS_CONTROL or both ("irq control"), or ""
    needs: str = ""
    #: the id whose check decides this one too (the spec says it twice)
    same_as: str = ""


VHOST_USER = "vhost-user"
VIRTQUEUES = "Virtqueues (split)"
CONFIG = "Device configuration layout"
RQ_DEVICE = "requestq Operation (device)"
RQ = "requestq Operation"
RQ_FLOW = "requestq Operation: Message Flow"
NAMES = "requestq Operation: Get Line Names"
SET_VALUE = "requestq Operation: Set Value"
SET_IRQ = "requestq Operation: Set IRQ Type"
EQ_DEVICE = "eventq Operation (device)"
EQ = "eventq Operation"
EQ_FLOW = "eventq Operation: Message Flow"

_R = Requirement

REQUIREMENTS = (
    _R("VU-1", VHOST_USER, "GET_FEATURES offers VIRTIO_F_VERSION_1 and "
       "VHOST_USER_F_PROTOCOL_FEATURES."),
    _R("VU-2", VHOST_USER, "GET_PROTOCOL_FEATURES offers CONFIG: the driver "
       "reads struct virtio_gpio_config with GET_CONFIG."),
    _R("VU-3", VHOST_USER, "GET_QUEUE_NUM gives at least 2 queues (requestq "
       "and eventq) when VIRTIO_GPIO_F_IRQ is offered."),
    _R("VU-4", VHOST_USER, "GET_CONFIG of the 8 bytes at offset 0 is "
       "answered with that offset and size and 8 bytes of config."),
    _R("VU-5", VHOST_USER, "SET_FEATURES, SET_MEM_TABLE and each ring's "
       "setup are accepted (REPLY_ACK status 0)."),
    _R("VQ-1", VIRTQUEUES, "A used element's length is at most the chain's "
       "device-writable room: the device has written that many bytes."),
    _R("VQ-2", VIRTQUEUES, "A used element names the head of a chain the "
       "driver made available and the device has not returned yet."),
    _R("VQ-3", VIRTQUEUES, "A device that offers VIRTIO_RING_F_INDIRECT_DESC "
       "serves a chain in an indirect table as the same chain made of ring "
       "descriptors: a request's answer, an eventq buffer's status."),
    _R("V-D-2", RQ_DEVICE, "The device sets all the fields of struct "
       "virtio_gpio_config: ngpio is not 0."),
    _R("V-DX-1", CONFIG, "ngpio is the total number of GPIO lines: line "
       "ngpio - 1 answers GET_DIRECTION with OK."),
    _R("V-DX-2", CONFIG, "padding is set to zero by the device."),
    _R("V-D-3", RQ_DEVICE, "gpio_names_size is zero if the device does not "
       "implement line names."),
    _R("V-D-4", RQ_DEVICE, "gpio_names_size is the size of the names block: "
       "GET_LINE_NAMES returns 1 + gpio_names_size bytes."),
    _R("V-D-13", NAMES, "The names block has a zero-terminated string for "
       "each line, a zero byte alone for a line without a name."),
    _R("V-D-14", NAMES, "A name is zero-terminated and unique within the "
       "device."),
    _R("V-D-15", NAMES, "Names should be meaningful producer names (not "
       "observable)."),
    _R("V-D-16", NAMES, "A non-zero gpio_names_size means GET_LINE_NAMES is "
       "supported: it is answered OK."),
    _R("V-DX-3", NAMES, "The names are 7-bit ASCII."),
    _R("V-DX-4", RQ_FLOW, "The device returns each request's buffers on the "
       "requestq and notifies the driver (call eventfd)."),
    _R("V-D-1", RQ_DEVICE, "The device sets all the fields of struct "
       "virtio_gpio_response: 2 bytes written."),
    _R("V-D-22", RQ_FLOW, "status is VIRTIO_GPIO_STATUS_OK (0) on success and "
       "VIRTIO_GPIO_STATUS_ERR (1) on failure."),
    _R("V-DX-5", RQ, "A response's value is as its message's table says: "
       "GET_DIRECTION 0, 1 or 2, GET_VALUE 0 or 1, the others 0."),
    _R("V-DX-6", RQ, "GET_DIRECTION returns the direction SET_DIRECTION "
       "configured: none, output or input."),
    _R("V-DX-7", RQ, "A request for a line at or beyond ngpio fails: status "
       "ERR."),
    _R("V-DX-8", RQ, "A request with a value its message does not define "
       "fails: status ERR."),
    _R("V-DX-9", RQ, "A request of a type the section does not define fails: "
       "status ERR."),
    _R("V-D-5", RQ_DEVICE, "Messages for one line are processed in order and "
       "answered in the order they were received."),
    _R("V-D-6", RQ_DEVICE, "The device may answer messages for different "
       "lines out of order (a permission: nothing to fail)."),
    _R("V-D-17", SET_VALUE, "A value set on a line that is not an output is "
       "the one it drives once it is configured as an output."),
    _R("V-D-7", RQ_DEVICE, "SET_DIRECTION NONE discards all of the line's "
       "state: an enabled interrupt with it.", needs=NEEDS_IRQ),
    _R("V-D-21", SET_IRQ, "A buffer queued for a line whose interrupt is not "
       "enabled comes back with status INVALID.", needs=NEEDS_IRQ),
    _R("V-DX-11", EQ, "A buffer queued for an enabled line is held until "
       "the line triggers or its interrupt is disabled.", needs=NEEDS_IRQ),
    _R("V-D-11", EQ_DEVICE, "No interrupt event for a line unless its "
       "interrupt is both enabled and unmasked, and the line triggers.",
       needs=NEEDS_IRQ),
    _R("V-D-12", EQ_DEVICE, "SET_IRQ_TYPE NONE returns the line's held "
       "buffer with status INVALID.", needs=NEEDS_IRQ),
    _R("V-D-26", EQ_FLOW, "Disabling the interrupt returns the unused "
       "buffer with status INVALID.", needs=NEEDS_IRQ, same_as="V-D-12"),
    _R("V-DX-10", EQ, "A line that triggers returns its buffer with status "
       "VALID, used length 1.", needs=NEEDS_IRQ),
    _R("V-D-19", SET_IRQ, "For a level trigger type the device notifies the "
       "driver once the level is sensed and the buffer queued.",
       needs=NEEDS_IRQ),
    _R("V-D-24", EQ_FLOW, "A level interrupt still active when the buffer "
       "is queued again is notified again.", needs=NEEDS_IRQ),
    _R("V-D-8", RQ_DEVICE, "An edge on a line whose interrupt is enabled but "
       "masked is latched, and notified once unmasked.",
       needs=NEEDS_IRQ + " " + NEEDS_CONTROL),
    _R("V-D-18", SET_IRQ, "For an edge trigger type the device latches "
       "events from the enable on.", needs=NEEDS_IRQ + " " + NEEDS_CONTROL,
       same_as="V-D-8"),
    _R("V-D-23", EQ_FLOW, "The device latches edges from the enable on.",
       needs=NEEDS_IRQ + " " + NEEDS_CONTROL, same_as="V-D-8"),
    _R("V-D-25", EQ_FLOW, "An edge latched while masked after a delivered "
       "event is notified once the buffer is queued again.",
       needs=NEEDS_IRQ + " " + NEEDS_CONTROL),
    _R("V-D-9", RQ_DEVICE, "A level interrupt is not latched while masked.",
       needs=NEEDS_IRQ + " " + NEEDS_CONTROL),
    _R("V-D-10", RQ_DEVICE, "Disabling the interrupt discards a latched "
       "edge.", needs=NEEDS_IRQ + " " + NEEDS_CONTROL),
    _R("V-D-20", SET_IRQ, "Disabling the interrupt discards a latched event.",
       needs=NEEDS_IRQ + " " + NEEDS_CONTROL, same_as="V-D-10"),
)

BY_ID = {requirement.id: requirement for requirement in REQUIREMENTS}
