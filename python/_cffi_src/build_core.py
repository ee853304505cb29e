"""cffi builder (API mode, out of line) for the userspace build of the core.

``setup.py`` lists ``ffibuilder`` in ``cffi_modules``; ``make`` and the
sanitizer run call :func:`make_ffibuilder` directly. This directory is not
a package: it only exists at build time.

The extension compiles the very same ``kernel/vgpio_core.c`` the kernel
module links, against the userspace OS shim in ``kernel/os/posix``.
"""

import argparse
import os
import re
import sys

from cffi import FFI

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BINDING_MODULE = "python/virtio_gpio/_binding.py"


def _binding_abi():
    """EXPECTED_ABI as the loader states it: the one place it is written."""
    with open(os.path.join(ROOT, BINDING_MODULE)) as f:
        match = re.search(r"^EXPECTED_ABI = (\d+)$", f.read(), re.M)
    if not match:
        raise RuntimeError("no EXPECTED_ABI in %s" % BINDING_MODULE)
    return int(match.group(1))


# Baked into the extension and checked at import, so a stale build fails
# loudly instead of misbehaving.
BINDING_ABI = _binding_abi()

SOURCES = [
    "kernel/vgpio_core.c",
    "kernel/vgpio_id30.c",
    "kernel/vgpio_std.c",
    "kernel/os/posix/vgpio_os.c",
    "python/csrc/simvq.c",
    "python/csrc/vgpio_uhost.c",
]
INCLUDE_DIRS = ["kernel", "kernel/os/posix", "python/csrc"]

CONSTANTS = """
#define VGPIO_ID30_DEVICE_ID ...
#define VGPIO_ID30_PROTO_VERSION ...
#define VGPIO_ID30_CFG_VERSION ...
#define VGPIO_ID30_CFG_NGPIO ...
#define VGPIO_ID30_CFG_NAMES_SIZE ...
#define VGPIO_ID30_CFG_NAME ...
#define VGPIO_ID30_CFG_NAME_LEN ...
#define VGPIO_ID30_CFG_LINE_NAMES ...
#define VGPIO_ID30_CFG_MAX_SIZE ...
#define VGPIO_ID30_MAX_LINES ...
#define VGPIO_ID30_VQ_RX ...
#define VGPIO_ID30_VQ_TX ...
#define VGPIO_ID30_NUM_VQS ...
#define VGPIO_ID30_MSG_REQUEST ...
#define VGPIO_ID30_MSG_DIRECTION_INPUT ...
#define VGPIO_ID30_MSG_DIRECTION_OUTPUT ...
#define VGPIO_ID30_MSG_GET_DIRECTION ...
#define VGPIO_ID30_MSG_GET_VALUE ...
#define VGPIO_ID30_MSG_SET_VALUE ...
#define VGPIO_ID30_MSG_HOST_LEVEL ...
#define VGPIO_ID30_MSG_REPLY ...
#define VGPIO_ID30_MSG_RESERVED ...
#define VGPIO_ID30_DIRECTION_OUT ...
#define VGPIO_ID30_DIRECTION_IN ...
#define VGPIO_ID30_MAX_ERRNO ...
#define VGPIO_RX_BUFS ...
#define VGPIO_TX_SPARE ...
#define VGPIO_IRQ_NONE ...
#define VGPIO_IRQ_EDGE_RISING ...
#define VGPIO_IRQ_EDGE_FALLING ...
#define VGPIO_IRQ_EDGE_BOTH ...
#define VGPIO_IRQ_LEVEL_HIGH ...
#define VGPIO_IRQ_LEVEL_LOW ...
#define VGPIO_IRQ_LEVEL_BOTH ...
#define VGPIO_MAX_VQS ...
#define VGPIO_MAX_LINES ...
#define VGPIO_CFG_WINDOW ...
#define VGPIO_CFG_TRIES ...
#define VGPIO_OP_REQUEST ...
#define VGPIO_OP_DIRECTION_INPUT ...
#define VGPIO_OP_DIRECTION_OUTPUT ...
#define VGPIO_OP_GET_DIRECTION ...
#define VGPIO_OP_GET_VALUE ...
#define VGPIO_OP_SET_VALUE ...
#define VGPIO_OP_FREE ...
#define VGPIO_OP_LAST ...
#define VGPIO_LINE_DIRECTION_OUT ...
#define VGPIO_LINE_DIRECTION_IN ...
#define VGPIO_STD_DEVICE_ID ...
#define VGPIO_STD_F_IRQ ...
#define VGPIO_STD_VQ_REQUEST ...
#define VGPIO_STD_VQ_EVENT ...
#define VGPIO_STD_CFG_NGPIO ...
#define VGPIO_STD_CFG_NAMES_SIZE ...
#define VGPIO_STD_CFG_SIZE ...
#define VGPIO_STD_NAMES_MAX ...
#define VGPIO_STD_MSG_GET_LINE_NAMES ...
#define VGPIO_STD_MSG_GET_DIRECTION ...
#define VGPIO_STD_MSG_SET_DIRECTION ...
#define VGPIO_STD_MSG_GET_VALUE ...
#define VGPIO_STD_MSG_SET_VALUE ...
#define VGPIO_STD_MSG_SET_IRQ_TYPE ...
#define VGPIO_STD_STATUS_OK ...
#define VGPIO_STD_STATUS_ERR ...
#define VGPIO_STD_DIRECTION_NONE ...
#define VGPIO_STD_DIRECTION_OUT ...
#define VGPIO_STD_DIRECTION_IN ...
#define VGPIO_STD_IRQ_TYPE_NONE ...
#define VGPIO_STD_IRQ_TYPE_EDGE_RISING ...
#define VGPIO_STD_IRQ_TYPE_EDGE_FALLING ...
#define VGPIO_STD_IRQ_TYPE_EDGE_BOTH ...
#define VGPIO_STD_IRQ_TYPE_LEVEL_HIGH ...
#define VGPIO_STD_IRQ_TYPE_LEVEL_LOW ...
#define VGPIO_STD_IRQ_STATUS_INVALID ...
#define VGPIO_STD_IRQ_STATUS_VALID ...
#define VGPIO_BINDING_ABI ...
"""

TYPES = """
struct vgpio_msg { uint16_t type; uint16_t line; uint32_t value; };
struct vgpio_stats {
    uint32_t replies; uint32_t late_replies; uint32_t events; uint32_t irqs;
    uint32_t timeouts; uint32_t resyncs; uint32_t tx_reclaimed;
    uint32_t bad_len; uint32_t bad_type; uint32_t bad_line;
    uint32_t bad_value; uint32_t unexpected; uint32_t bad_token;
    uint32_t rx_repost_failed; uint32_t irq_invalid;
};
enum vgpio_protocol { VGPIO_PROTOCOL_ID30, VGPIO_PROTOCOL_STANDARD };
struct vgpio_dev_info { unsigned int device_id; unsigned int cfg_size; bool irq; };
struct vgpio_core;
struct vgpio_host_ops { ...; };
struct simvq;
struct vgpio_uhost {
    struct simvq *vq[2];
    const unsigned char *cfg;
    unsigned int cfg_len;
    unsigned int cfg_window;
    unsigned int cfg_reads;
    unsigned int cfg_widest_read;
    unsigned int cfg_reads_past_window;
    unsigned int cfg_generation;
    unsigned int cfg_change_at;
    const unsigned char *cfg_next;
    unsigned int cfg_next_len;
    bool cfg_always_changing;
    unsigned int arm_pending;
    void *handle;
    int (*wait)(void *handle, unsigned int line);
    void (*notify)(void *handle, unsigned int vq);
    void (*wake)(void *handle, unsigned int line);
    void (*irq)(void *handle, unsigned int line);
    void (*rejected)(void *handle, int err, const char *why);
};
"""

FUNCTIONS = """
int vgpio_core_probe(const struct vgpio_host_ops *ops, void *ctx,
                     const struct vgpio_dev_info *info,
                     struct vgpio_core **out, const char **why);
enum vgpio_protocol vgpio_core_protocol(const struct vgpio_core *core);
unsigned int vgpio_core_num_vqs(const struct vgpio_core *core);
const char *vgpio_core_vq_name(const struct vgpio_core *core, unsigned int vq);
int vgpio_core_start(struct vgpio_core *core);
void vgpio_core_kill(struct vgpio_core *core);
bool vgpio_core_idle(struct vgpio_core *core);
void vgpio_core_destroy(struct vgpio_core *core);
int vgpio_request(struct vgpio_core *core, unsigned int line,
                  unsigned int op, uint32_t value, uint32_t *result);
bool vgpio_line_done(struct vgpio_core *core, unsigned int line);
int vgpio_line_level(struct vgpio_core *core, unsigned int line);
void vgpio_vq_callback(struct vgpio_core *core, unsigned int vq);
unsigned int vgpio_core_irq_lines(const struct vgpio_core *core);
unsigned int vgpio_core_irq_types(const struct vgpio_core *core);
int vgpio_irq_set_type(struct vgpio_core *core, unsigned int line,
                       unsigned int type);
int vgpio_irq_enable(struct vgpio_core *core, unsigned int line, bool enable);
int vgpio_irq_mask(struct vgpio_core *core, unsigned int line, bool masked);
int vgpio_irq_sync(struct vgpio_core *core, unsigned int line);
void vgpio_irq_arm_pending(struct vgpio_core *core);
unsigned int vgpio_core_ngpio(const struct vgpio_core *core);
const char *vgpio_core_name(const struct vgpio_core *core);
const char *const *vgpio_core_line_names(const struct vgpio_core *core);
const struct vgpio_stats *vgpio_core_stats(const struct vgpio_core *core);
int vgpio_core_last_error(const struct vgpio_core *core);

struct simvq *simvq_new(unsigned int num);
void simvq_free(struct simvq *q);
int simvq_add(struct simvq *q, void *out, unsigned int out_len, void *in,
              unsigned int in_len, void *token);
void *simvq_get_used(struct simvq *q, unsigned int *len);
int simvq_pop_avail(struct simvq *q);
int simvq_out_len(const struct simvq *q, unsigned int id);
int simvq_in_len(const struct simvq *q, unsigned int id);
int simvq_read(const struct simvq *q, unsigned int id, void *dst,
               unsigned int len);
int simvq_write(struct simvq *q, unsigned int id, const void *src,
                unsigned int len);
int simvq_push_used(struct simvq *q, unsigned int id, unsigned int used_len);
unsigned int simvq_size(const struct simvq *q);
unsigned int simvq_num_free(const struct simvq *q);
unsigned int simvq_num_avail(const struct simvq *q);
unsigned int simvq_num_used(const struct simvq *q);
unsigned int simvq_num_kicks(const struct simvq *q);

extern const struct vgpio_host_ops vgpio_uhost_ops;
void *vgpio_zalloc(size_t size);
void vgpio_free(void *ptr);
extern long vgpio_os_live_allocs;
extern long vgpio_os_fail_after;
void vgpio_os_raw_enter(void);
void vgpio_os_raw_leave(void);
extern long vgpio_os_wait_context_errors;

extern "Python" int _vgpio_py_wait(void *handle, unsigned int line);
extern "Python" void _vgpio_py_notify(void *handle, unsigned int vq);
extern "Python" void _vgpio_py_wake(void *handle, unsigned int line);
extern "Python" void _vgpio_py_irq(void *handle, unsigned int line);
extern "Python" void _vgpio_py_rejected(void *handle, int err, const char *why);
"""

INCLUDES = """
#include "vgpio_core.h"
#include "vgpio_uhost.h"
#define VGPIO_BINDING_ABI %d
""" % BINDING_ABI

SANITIZE_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                  "-fno-omit-frame-pointer", "-g", "-O1"]


def make_ffibuilder(module_name="virtio_gpio._core", sanitize=False):
    """Return an FFI builder for the core; ``sanitize`` adds ASan+UBSan."""
    extra = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"]
    link = []
    if sanitize:
        extra += SANITIZE_FLAGS
        link += ["-fsanitize=address,undefined"]
    builder = FFI()
    builder.cdef(CONSTANTS + TYPES + FUNCTIONS)
    builder.set_source(
        module_name,
        INCLUDES,
        sources=[os.path.join(ROOT, s) for s in SOURCES],
        include_dirs=[os.path.join(ROOT, d) for d in INCLUDE_DIRS],
        extra_compile_args=extra,
        extra_link_args=link,
    )
    return builder


ffibuilder = make_ffibuilder()


def main(argv=None):
    """Compile the extension into ``--outdir`` (used by make and the ASan run)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outdir", required=True,
                        help="directory that receives virtio_gpio/_core*.so")
    parser.add_argument("--sanitize", action="store_true",
                        help="build with -fsanitize=address,undefined")
    args = parser.parse_args(argv)
    builder = make_ffibuilder(sanitize=args.sanitize)
    tmp = os.path.join(args.outdir, "_cffi_tmp")
    path = builder.compile(tmpdir=tmp, verbose=False)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
