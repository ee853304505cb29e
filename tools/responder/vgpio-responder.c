/*
 * vgpio-responder: the least a vhost-user GPIO backend can be, in C.
 *
 * A yardstick for the Python backend (vgpio-vhost-user --protocol
 * standard), not a product: python -m virtio_gpio.conformance.bench_backend
 * times the same requests against both, and the ratio says what the
 * Python hot path costs. So it does what the bench needs and what the
 * protocol requires of it, and no more:
 *
 *  - vhost-user (QEMU's docs/interop/vhost-user.rst): features, protocol
 *    features (MQ, REPLY_ACK, CONFIG), SET_MEM_TABLE mmap'ed, vring
 *    addresses, kick and call eventfds, GET_CONFIG. One front end at a
 *    time; when it hangs up the next may connect.
 *  - the virtio GPIO device (ID 41): requestq answering GET_LINE_NAMES,
 *    GET/SET_DIRECTION, GET/SET_VALUE and SET_IRQ_TYPE on an array of
 *    unnamed lines; eventq holding one buffer per line, completed when
 *    the line triggers (edges and levels), returned invalid when its
 *    trigger is set to NONE. An edge that comes while no buffer is held
 *    is latched, as the Python model does, so both answer alike.
 *  - a control socket taking the one command of the Python backend's
 *    control protocol the bench sends, in the same JSON, one per
 *    connection: {"cmd": "set_input", "line": N, "level": L}. The bench
 *    thus changes an input the same way on both sides.
 *
 * No fault injection, no checking beyond what keeps it from touching
 * memory outside the front end's regions. libc only.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* vhost-user requests */
enum {
	GET_FEATURES = 1, SET_FEATURES = 2, SET_OWNER = 3, RESET_OWNER = 4,
	SET_MEM_TABLE = 5, SET_VRING_NUM = 8, SET_VRING_ADDR = 9,
	SET_VRING_BASE = 10, GET_VRING_BASE = 11, SET_VRING_KICK = 12,
	SET_VRING_CALL = 13, SET_VRING_ERR = 14, GET_PROTOCOL_FEATURES = 15,
	SET_PROTOCOL_FEATURES = 16, GET_QUEUE_NUM = 17, SET_VRING_ENABLE = 18,
	GET_CONFIG = 24, SET_CONFIG = 25,
};

#define FLAG_VERSION 0x1u
#define FLAG_REPLY 0x4u
#define FLAG_NEED_REPLY 0x8u
#define F_IRQ (1ull << 0)
#define F_PROTOCOL_FEATURES (1ull << 30)
#define F_VERSION_1 (1ull << 32)
#define PF_MQ (1ull << 0)
#define PF_REPLY_ACK (1ull << 3)
#define PF_CONFIG (1ull << 9)
#define VRING_INDEX_MASK 0xffu
#define VRING_NOFD 0x100u

#define NUM_QUEUES 2
#define MAX_REGIONS 8
#define MAX_PAYLOAD 4096

/* the GPIO device */
enum { GET_LINE_NAMES = 1, GET_DIRECTION = 2, SET_DIRECTION = 3,
       GET_VALUE = 4, SET_VALUE = 5, SET_IRQ_TYPE = 6 };
enum { DIR_NONE = 0, DIR_OUT = 1, DIR_IN = 2 };
enum { IRQ_NONE = 0, IRQ_RISING = 1, IRQ_FALLING = 2, IRQ_BOTH = 3,
       IRQ_HIGH = 4, IRQ_LOW = 8 };
enum { STATUS_OK = 0, STATUS_ERR = 1 };
enum { IRQ_INVALID = 0, IRQ_VALID = 1 };
#define REQUESTQ 0
#define EVENTQ 1
#define MAX_LINES 1024

#define DESC_F_NEXT 1
#define DESC_F_WRITE 2

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct used_elem {
	uint32_t id;
	uint32_t len;
};

struct region {
	uint64_t guest, size, user;
	uint8_t *host;		/* the region's first byte, mapped */
	uint8_t *map;		/* what munmap takes */
	size_t map_len;
};

struct vring {
	unsigned num;
	struct desc *desc;
	uint16_t *avail;	/* flags, idx, ring[] */
	uint8_t *used;		/* flags, idx, elems[] */
	uint16_t last_avail, used_idx;
	int kick, call;
	int enabled, ready;
};

struct line {
	uint8_t direction, value, out_value, irq_type, latched;
	int held;		/* the eventq chain's head, or -1 */
	uint8_t *status;	/* where its status byte goes */
};

static struct region regions[MAX_REGIONS];
static unsigned nregions;
static struct vring vrings[NUM_QUEUES];
static struct line lines[MAX_LINES];
static unsigned nlines = 8;
static uint64_t protocol_features;
static volatile sig_atomic_t stopping;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* -- guest memory ------------------------------------------------------ */

static void unmap_all(void)
{
	for (unsigned i = 0; i < nregions; i++)
		munmap(regions[i].map, regions[i].map_len);
	nregions = 0;
}

/* The host address of [addr, addr + len), a guest-physical address or
 * (user) one of the front end's own; NULL when it is outside memory. */
static void *translate(uint64_t addr, uint64_t len, int user)
{
	for (unsigned i = 0; i < nregions; i++) {
		struct region *r = &regions[i];
		uint64_t base = user ? r->user : r->guest;

		if (addr >= base && len <= r->size && addr - base <= r->size - len)
			return r->host + (addr - base);
	}
	return NULL;
}

/* -- rings --------------------------------------------------------------- */

static void interrupt(struct vring *vq)
{
	uint64_t one = 1;

	if (vq->call >= 0 && write(vq->call, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		perror("call eventfd");
}

/* The next chain's head, or -1 when none is available. */
static int pop(struct vring *vq)
{
	uint16_t avail_idx;
	int head;

	if (!vq->ready || !vq->enabled || !vq->num)
		return -1;
	avail_idx = __atomic_load_n(&vq->avail[1], __ATOMIC_ACQUIRE);
	if (avail_idx == vq->last_avail)
		return -1;
	head = vq->avail[2 + vq->last_avail % vq->num];
	vq->last_avail++;
	return head < (int)vq->num ? head : -1;
}

static void push(struct vring *vq, int head, uint32_t len)
{
	struct used_elem *elem = (struct used_elem *)(vq->used + 4) +
				 vq->used_idx % vq->num;

	elem->id = (uint32_t)head;
	elem->len = len;
	vq->used_idx++;
	__atomic_store_n((uint16_t *)(vq->used + 2), vq->used_idx,
			 __ATOMIC_RELEASE);
}

/* Walk the chain at ``head``: up to ``max_in`` driver-written bytes into
 * ``in`` (their count in *in_len), and the first device-writable buffer
 * with its size. Returns 0, or -1 for a chain that loops or leaves
 * memory. */
static int walk(struct vring *vq, int head, uint8_t *in, size_t max_in,
		size_t *in_len, uint8_t **out, uint32_t *out_len)
{
	unsigned index = (unsigned)head;

	*in_len = 0;
	*out = NULL;
	*out_len = 0;
	for (unsigned n = 0; n < vq->num; n++) {
		struct desc d = vq->desc[index];
		uint8_t *p = translate(d.addr, d.len, 0);

		if (!p)
			return -1;
		if (d.flags & DESC_F_WRITE) {
			if (!*out) {
				*out = p;
				*out_len = d.len;
			}
		} else {
			size_t take = d.len;

			if (take > max_in - *in_len)
				take = max_in - *in_len;
			memcpy(in + *in_len, p, take);
			*in_len += take;
		}
		if (!(d.flags & DESC_F_NEXT))
			return 0;
		index = d.next;
		if (index >= vq->num)
			return -1;
	}
	return -1;
}

/* -- the GPIO device --------------------------------------------------- */

static void complete_irq(unsigned n, uint8_t status)
{
	struct line *l = &lines[n];

	*l->status = status;
	push(&vrings[EVENTQ], l->held, 1);
	l->held = -1;
}

/* A level trigger fires while the line is at its level. Returns whether
 * it completed the held buffer. */
static int level_fire(unsigned n)
{
	struct line *l = &lines[n];

	if (l->held < 0)
		return 0;
	if ((l->irq_type == IRQ_HIGH && l->value) ||
	    (l->irq_type == IRQ_LOW && !l->value)) {
		complete_irq(n, IRQ_VALID);
		return 1;
	}
	return 0;
}

static int set_irq_type(unsigned n, uint8_t type)
{
	struct line *l = &lines[n];

	l->irq_type = type;
	if (type == IRQ_NONE) {
		l->latched = 0;
		if (l->held >= 0) {
			complete_irq(n, IRQ_INVALID);
			return 1;
		}
		return 0;
	}
	return level_fire(n);
}

/* Take every eventq chain the driver posted. Returns how many chains
 * went back used. */
static int take_irq_buffers(void)
{
	struct vring *vq = &vrings[EVENTQ];
	int head, done = 0;

	while ((head = pop(vq)) >= 0) {
		uint8_t req[2], *status;
		size_t got;
		uint32_t room;
		unsigned n;

		if (walk(vq, head, req, sizeof(req), &got, &status, &room) ||
		    !room) {
			push(vq, head, 0);
			done++;
			continue;
		}
		n = req[0] | req[1] << 8;
		if (got != 2 || n >= nlines || lines[n].irq_type == IRQ_NONE ||
		    lines[n].held >= 0) {
			*status = IRQ_INVALID;
			push(vq, head, 1);
			done++;
			continue;
		}
		lines[n].held = head;
		lines[n].status = status;
		if (lines[n].latched) {
			lines[n].latched = 0;
			complete_irq(n, IRQ_VALID);
			done++;
		} else {
			done += level_fire(n);
		}
	}
	return done;
}

/* The host drives input ``n`` to ``level``. Returns whether the level
 * changed, or -1 for a line that is an output or does not exist. */
static int set_input(unsigned n, unsigned level)
{
	struct line *l;
	uint8_t edge;
	int changed, done;

	if (n >= nlines || level > 1 || lines[n].direction == DIR_OUT)
		return -1;
	done = take_irq_buffers();
	l = &lines[n];
	changed = l->value != level;
	edge = level > l->value ? IRQ_RISING :
	       level < l->value ? IRQ_FALLING : 0;
	l->value = (uint8_t)level;
	if (l->held < 0) {
		if (l->irq_type & edge)
			l->latched = 1;
	} else if (l->irq_type & edge) {
		complete_irq(n, IRQ_VALID);
		done++;
	} else {
		done += level_fire(n);
	}
	if (done)
		interrupt(&vrings[EVENTQ]);
	return changed;
}

/* One request: the bytes of the response in ``out`` (room for ``room``),
 * their count returned. Sets *irq when an eventq chain went back. */
static uint32_t answer(const uint8_t *req, size_t len, uint8_t *out,
		       uint32_t room, int *irq)
{
	uint16_t type, n;
	uint32_t value;
	uint8_t status = STATUS_OK, result = 0;
	struct line *l;

	if (len != 8 || room < 1) {
		if (room)
			out[0] = STATUS_ERR;
		return room ? 1 : 0;
	}
	type = (uint16_t)(req[0] | req[1] << 8);
	n = (uint16_t)(req[2] | req[3] << 8);
	value = (uint32_t)req[4] | (uint32_t)req[5] << 8 |
		(uint32_t)req[6] << 16 | (uint32_t)req[7] << 24;
	if (type == GET_LINE_NAMES) {
		/* every line unnamed: one NUL each */
		uint32_t size = nlines + 1 < room ? nlines + 1 : room;

		out[0] = n || value ? STATUS_ERR : STATUS_OK;
		if (out[0] == STATUS_ERR)
			size = room < 2 ? room : 2;
		memset(out + 1, 0, size - 1);
		return size;
	}
	if (n >= nlines) {
		status = STATUS_ERR;
		goto reply;
	}
	l = &lines[n];
	switch (type) {
	case GET_DIRECTION:
		result = l->direction;
		break;
	case SET_DIRECTION:
		if (value > DIR_IN) {
			status = STATUS_ERR;
			break;
		}
		l->direction = (uint8_t)value;
		if (value == DIR_NONE) {
			*irq |= set_irq_type(n, IRQ_NONE);
			l->out_value = 0;
		} else if (value == DIR_OUT) {
			l->value = l->out_value;
		}
		break;
	case GET_VALUE:
		result = l->value;
		break;
	case SET_VALUE:
		if (value > 1) {
			status = STATUS_ERR;
			break;
		}
		l->out_value = (uint8_t)value;
		if (l->direction == DIR_OUT)
			l->value = (uint8_t)value;
		break;
	case SET_IRQ_TYPE:
		if (!(value <= IRQ_BOTH || value == IRQ_HIGH ||
		      value == IRQ_LOW)) {
			status = STATUS_ERR;
			break;
		}
		*irq |= set_irq_type(n, (uint8_t)value);
		break;
	default:
		status = STATUS_ERR;
	}
reply:
	out[0] = status;
	if (room < 2)
		return 1;
	out[1] = status == STATUS_OK ? result : 0;
	return 2;
}

static void process_requests(void)
{
	struct vring *vq = &vrings[REQUESTQ];
	int head, answered = 0, irq = 0;

	while ((head = pop(vq)) >= 0) {
		uint8_t req[8], *out;
		size_t got;
		uint32_t room, len = 0;

		if (!walk(vq, head, req, sizeof(req), &got, &out, &room) && out)
			len = answer(req, got, out, room, &irq);
		push(vq, head, len);
		answered++;
	}
	if (answered)
		interrupt(vq);
	if (irq)
		interrupt(&vrings[EVENTQ]);
}

static void process(int index)
{
	if (index == REQUESTQ) {
		process_requests();
	} else if (take_irq_buffers()) {
		interrupt(&vrings[EVENTQ]);
	}
}

static void reset_lines(void)
{
	for (unsigned n = 0; n < nlines; n++) {
		memset(&lines[n], 0, sizeof(lines[n]));
		lines[n].direction = DIR_IN;
		lines[n].held = -1;
	}
}

static void forget_irq_buffers(void)
{
	for (unsigned n = 0; n < nlines; n++) {
		lines[n].held = -1;
		lines[n].latched = 0;
	}
}

/* -- vhost-user ---------------------------------------------------------- */

struct header {
	uint32_t request, flags, size;
};

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_reply(int sock, uint32_t request, const void *payload,
		      uint32_t size)
{
	uint8_t buf[sizeof(struct header) + MAX_PAYLOAD];
	struct header h = { request, FLAG_VERSION | FLAG_REPLY, size };

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), payload, size);
	return send(sock, buf, sizeof(h) + size, MSG_NOSIGNAL) ==
	       (ssize_t)(sizeof(h) + size) ? 0 : -1;
}

static void close_fds(int *fds, int count)
{
	for (int i = 0; i < count; i++)
		close(fds[i]);
}

static void stop_vring(struct vring *vq)
{
	if (vq->kick >= 0)
		close(vq->kick);
	if (vq->call >= 0)
		close(vq->call);
	vq->kick = vq->call = -1;
	vq->ready = vq->enabled = 0;
}

static void reset_vrings(void)
{
	for (int i = 0; i < NUM_QUEUES; i++) {
		stop_vring(&vrings[i]);
		memset(&vrings[i], 0, sizeof(vrings[i]));
		vrings[i].kick = vrings[i].call = -1;
	}
}

static int set_mem_table(const uint8_t *p, uint32_t size, int *fds, int nfds)
{
	uint32_t count;

	if (size < 8)
		return -1;
	memcpy(&count, p, 4);
	if (count != (uint32_t)nfds || count > MAX_REGIONS ||
	    size < 8 + 32 * count)
		return -1;
	unmap_all();
	for (uint32_t i = 0; i < count; i++) {
		uint64_t f[4];	/* guest, size, user, mmap offset */
		struct region *r = &regions[i];
		void *map;

		memcpy(f, p + 8 + 32 * i, sizeof(f));
		map = mmap(NULL, f[1] + f[3], PROT_READ | PROT_WRITE,
			   MAP_SHARED, fds[i], 0);
		if (map == MAP_FAILED) {
			perror("mmap");
			unmap_all();
			return -1;
		}
		r->guest = f[0];
		r->size = f[1];
		r->user = f[2];
		r->map = map;
		r->map_len = f[1] + f[3];
		r->host = (uint8_t *)map + f[3];
		nregions = i + 1;
	}
	return 0;
}

static int set_vring_addr(const uint8_t *p, uint32_t size)
{
	uint32_t index;
	uint64_t desc, used, avail;
	struct vring *vq;

	if (size < 40)
		return -1;
	memcpy(&index, p, 4);
	memcpy(&desc, p + 8, 8);
	memcpy(&used, p + 16, 8);
	memcpy(&avail, p + 24, 8);
	if (index >= NUM_QUEUES)
		return -1;
	vq = &vrings[index];
	vq->desc = translate(desc, 16ull * vq->num, 1);
	vq->avail = translate(avail, 6 + 2ull * vq->num, 1);
	vq->used = translate(used, 6 + 8ull * vq->num, 1);
	if (!vq->num || !vq->desc || !vq->avail || !vq->used)
		return -1;
	vq->ready = 1;
	return 0;
}

/* Handle one message; -1 when the front end is gone or broke the
 * protocol beyond answering. */
static int handle(int sock)
{
	uint8_t payload[MAX_PAYLOAD];
	char control[CMSG_SPACE(MAX_REGIONS * sizeof(int))];
	struct header h;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = control,
			      .msg_controllen = sizeof(control) };
	int fds[MAX_REGIONS], nfds = 0, status = 0;
	/* a request's own reply, when it has one */
	uint8_t out[12 + 256] = { 0 };
	uint32_t out_len = 0;
	uint64_t u64 = 0;
	uint32_t index = 0;
	ssize_t got;

	got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	if (got <= 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
	     c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			if (n > MAX_REGIONS - nfds)
				n = MAX_REGIONS - nfds;
			memcpy(fds + nfds, CMSG_DATA(c), n * sizeof(int));
			nfds += n;
		}
	}
	if ((got < (ssize_t)sizeof(h) &&
	     read_full(sock, (uint8_t *)&h + got, sizeof(h) - (size_t)got)) ||
	    h.size > MAX_PAYLOAD || read_full(sock, payload, h.size)) {
		close_fds(fds, nfds);
		return -1;
	}
	if (h.size >= 8)
		memcpy(&u64, payload, 8);
	if (h.size >= 4)
		memcpy(&index, payload, 4);
	index &= VRING_INDEX_MASK;

	switch (h.request) {
	case GET_FEATURES:
		u64 = F_VERSION_1 | F_PROTOCOL_FEATURES | F_IRQ;
		goto reply_u64;
	case GET_PROTOCOL_FEATURES:
		u64 = PF_MQ | PF_REPLY_ACK | PF_CONFIG;
		goto reply_u64;
	case GET_QUEUE_NUM:
		u64 = NUM_QUEUES;
reply_u64:
		memcpy(out, &u64, 8);
		out_len = 8;
		break;
	case SET_PROTOCOL_FEATURES:
		protocol_features = u64;
		break;
	case SET_FEATURES:
	case SET_OWNER:
		break;
	case RESET_OWNER:
		reset_vrings();
		forget_irq_buffers();
		break;
	case SET_MEM_TABLE:
		status = set_mem_table(payload, h.size, fds, nfds) ? 1 : 0;
		close_fds(fds, nfds);
		nfds = 0;
		break;
	case SET_VRING_NUM:
		if (index >= NUM_QUEUES || h.size < 8) {
			status = 1;
			break;
		}
		memcpy(&vrings[index].num, payload + 4, 4);
		if (vrings[index].num > 32768)
			status = 1;
		break;
	case SET_VRING_BASE:
		if (index >= NUM_QUEUES || h.size < 8) {
			status = 1;
			break;
		}
		vrings[index].last_avail = vrings[index].used_idx =
			(uint16_t)(payload[4] | payload[5] << 8);
		if (index == EVENTQ)
			forget_irq_buffers();
		break;
	case GET_VRING_BASE: {
		uint32_t base[2] = { index, 0 };

		if (index < NUM_QUEUES) {
			base[1] = vrings[index].last_avail;
			stop_vring(&vrings[index]);
			if (index == EVENTQ)
				forget_irq_buffers();
		}
		memcpy(out, base, sizeof(base));
		out_len = sizeof(base);
		break;
	}
	case SET_VRING_ADDR:
		status = set_vring_addr(payload, h.size) ? 1 : 0;
		break;
	case SET_VRING_KICK:
	case SET_VRING_CALL: {
		int fd = (u64 & VRING_NOFD) || !nfds ? -1 : fds[0];
		int *slot;

		if (index >= NUM_QUEUES) {
			status = 1;
			break;
		}
		slot = h.request == SET_VRING_KICK ? &vrings[index].kick :
						     &vrings[index].call;
		if (*slot >= 0)
			close(*slot);
		*slot = fd;
		if (fd >= 0) {
			close_fds(fds + 1, nfds - 1);
			nfds = 0;
		}
		break;
	}
	case SET_VRING_ENABLE:
		if (index >= NUM_QUEUES || h.size < 8) {
			status = 1;
			break;
		}
		vrings[index].enabled = payload[4] != 0;
		if (vrings[index].enabled)
			process((int)index);
		break;
	case GET_CONFIG: {
		/* le16 ngpio, 2 bytes padding, le32 gpio_names_size: 0, as
		 * no line has a name */
		uint8_t config[8] = { (uint8_t)nlines, (uint8_t)(nlines >> 8) };
		uint32_t offset, size;

		if (h.size < 12) {
			close_fds(fds, nfds);
			return -1;
		}
		memcpy(&offset, payload, 4);
		memcpy(&size, payload + 4, 4);
		if (size > 256)
			size = 256;
		memcpy(out, payload, 12);
		memcpy(out + 4, &size, 4);
		for (uint32_t i = 0; i < size; i++)
			out[12 + i] = offset + i < sizeof(config) ?
				      config[offset + i] : 0;
		out_len = 12 + size;
		break;
	}
	case SET_VRING_ERR:
	case SET_CONFIG:
		break;
	default:
		fprintf(stderr, "vgpio-responder: request %u unsupported\n",
			h.request);
		status = 1;
	}
	close_fds(fds, nfds);
	if (out_len)
		return send_reply(sock, h.request, out, out_len);
	if (h.flags & FLAG_NEED_REPLY && protocol_features & PF_REPLY_ACK) {
		u64 = (uint64_t)status;
		return send_reply(sock, h.request, &u64, sizeof(u64));
	}
	return 0;
}

/* -- the control socket ---------------------------------------------------- */

/* The integer after "key": in ``text``, or -1. */
static long json_int(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	if (!p)
		return -1;
	p += strlen(key);
	while (*p == ' ' || *p == ':')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	return strtol(p, NULL, 10);
}

static void control(int listener)
{
	char buf[1024], reply[128];
	size_t len = 0;
	int client = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	struct timeval tv = { 1, 0 };
	int changed = -1;

	if (client < 0)
		return;
	setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (len < sizeof(buf) - 1 && !memchr(buf, '\n', len)) {
		ssize_t n = read(client, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	if (strstr(buf, "\"set_input\"")) {
		long line = json_int(buf, "\"line\""),
		     level = json_int(buf, "\"level\"");

		if (line >= 0 && level >= 0)
			changed = set_input((unsigned)line, (unsigned)level);
	} else if (strstr(buf, "\"stop\"")) {
		stopping = 1;
		changed = 0;
	}
	if (changed < 0)
		snprintf(reply, sizeof(reply),
			 "{\"error\": \"only set_input and stop, on an "
			 "input line of 0..%u\"}\n", nlines - 1);
	else
		snprintf(reply, sizeof(reply),
			 "{\"ok\": true, \"changed\": %s}\n",
			 changed ? "true" : "false");
	/* a client that hung up without reading is no error of ours */
	(void)!send(client, reply, strlen(reply), MSG_NOSIGNAL);
	close(client);
}

/* -- the loop ------------------------------------------------------------ */

static int listen_at(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "vgpio-responder: %s: path too long\n", path);
		exit(2);
	}
	strcpy(addr.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(fd, 4) < 0)
		die(path);
	return fd;
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: vgpio-responder -s SOCKET [--control PATH] "
		"[--lines N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "socket-path", required_argument, NULL, 's' },
		{ "control", required_argument, NULL, 'c' },
		{ "lines", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket_path = NULL, *control_path = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	int listener, ctl = -1, conn = -1, opt;

	while ((opt = getopt_long(argc, argv, "s:", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket_path = optarg;
			break;
		case 'c':
			control_path = optarg;
			break;
		case 'l':
			nlines = (unsigned)atoi(optarg);
			if (nlines < 1 || nlines > MAX_LINES)
				usage();
			break;
		default:
			usage();
		}
	}
	if (!socket_path || optind != argc)
		usage();
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	reset_vrings();
	reset_lines();
	/* the control socket first: the bench waits for the front end's
	 * socket, and then finds both */
	if (control_path)
		ctl = listen_at(control_path);
	listener = listen_at(socket_path);

	while (!stopping) {
		struct pollfd p[5];
		int n = 0, kick_at = -1;

		p[n++] = (struct pollfd){ conn >= 0 ? conn : listener, POLLIN, 0 };
		if (ctl >= 0)
			p[n++] = (struct pollfd){ ctl, POLLIN, 0 };
		kick_at = n;
		for (int i = 0; i < NUM_QUEUES; i++)
			p[n++] = (struct pollfd){ vrings[i].kick, POLLIN, 0 };
		if (poll(p, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (int i = 0; i < NUM_QUEUES; i++) {
			uint64_t count;

			if (!(p[kick_at + i].revents & POLLIN))
				continue;
			if (read(vrings[i].kick, &count, sizeof(count)) > 0)
				process(i);
		}
		if (ctl >= 0 && p[1].revents & POLLIN)
			control(ctl);
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (conn < 0) {
			conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
		} else if (handle(conn) < 0) {
			/* gone: its rings and memory with it, the lines kept */
			close(conn);
			conn = -1;
			reset_vrings();
			forget_irq_buffers();
			unmap_all();
			protocol_features = 0;
		}
	}
	unlink(socket_path);
	if (control_path)
		unlink(control_path);
	return 0;
}
