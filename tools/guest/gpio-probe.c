// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * gpio-probe: talks to a GPIO chip through the character device ioctls
 * (uAPI v2) directly, no libgpiod, to time what a guest program sees.
 *
 *   gpio-probe CHIP get LINE N     time N reads of an input line
 *   gpio-probe CHIP set LINE N     time N writes of an output line
 *   gpio-probe CHIP dirout LINE N  time N reconfigurations as output
 *                                  (each one is a direction_output call)
 *   gpio-probe CHIP loop LINE N    time N edges looped back by the device:
 *                                  drive LINE, wait for the edge on LINE+1;
 *                                  prints a fourth figure, the edges lost
 *   gpio-probe CHIP rw LINE N      N write/read-back pairs, checked
 *   gpio-probe CHIP getafter LINE PATH
 *                                  request LINE as input, print "SYNC NAME"
 *                                  (PATH's file name without "go."), wait
 *                                  until PATH exists, then read LINE once,
 *                                  the only request in flight; the result,
 *                                  "GOT n" or the error, goes to stderr
 *   gpio-probe CHIP hold LINE DIR  request LINE as an output driving 1, print
 *                                  "HOLDING line=LINE", then for N = 1, 2, ...
 *                                  wait until DIR/go.N exists and print
 *                                  "HELD N value=V" (V read back from the
 *                                  device) or the error; holds the line
 *                                  until killed
 *   gpio-probe CHIP edges LINE N   wait for N edges, print each wake-up
 *   gpio-probe CHIP info - -       print "LINE n name=... dir=in|out" per line
 *   gpio-probe CHIP values - -     read every line (at most 64) as input in
 *                                  one request: "VALUES b0b1..." (line 0 first)
 *   gpio-probe CHIP drive LINE V   request LINE as output driving V, release it
 *
 * Timing modes print "median_us p99_us ops_per_s"; edges prints
 * "EDGES-READY line=LINE" once it watches, then one line
 * "EDGE rising|falling REALTIME_NS line=LINE" per event.
 */
#include <poll.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int request_line(const char *chip, unsigned int line, uint64_t flags,
			int value)
{
	struct gpio_v2_line_request req;
	int fd = open(chip, O_RDWR);

	if (fd < 0) {
		perror(chip);
		exit(2);
	}
	memset(&req, 0, sizeof(req));
	req.offsets[0] = line;
	req.num_lines = 1;
	req.config.flags = flags;
	if (flags & GPIO_V2_LINE_FLAG_OUTPUT) {
		req.config.num_attrs = 1;
		req.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES;
		req.config.attrs[0].attr.values = value;
		req.config.attrs[0].mask = 1;
	}
	strcpy(req.consumer, "gpio-probe");
	if (ioctl(fd, GPIO_V2_GET_LINE_IOCTL, &req) < 0) {
		fprintf(stderr, "request line %u: %s\n", line, strerror(errno));
		exit(1);
	}
	close(fd);
	return req.fd;
}

static int get_value(int fd)
{
	struct gpio_v2_line_values v = { .mask = 1 };

	if (ioctl(fd, GPIO_V2_LINE_GET_VALUES_IOCTL, &v) < 0) {
		fprintf(stderr, "get: %s\n", strerror(errno));
		exit(1);
	}
	return v.bits & 1;
}

static void set_value(int fd, int value)
{
	struct gpio_v2_line_values v = { .bits = value, .mask = 1 };

	if (ioctl(fd, GPIO_V2_LINE_SET_VALUES_IOCTL, &v) < 0) {
		fprintf(stderr, "set: %s\n", strerror(errno));
		exit(1);
	}
}

/* Reconfigure the requested line as an output driving @value. */
static void set_output(int fd, int value)
{
	struct gpio_v2_line_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.flags = GPIO_V2_LINE_FLAG_OUTPUT;
	cfg.num_attrs = 1;
	cfg.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES;
	cfg.attrs[0].attr.values = value;
	cfg.attrs[0].mask = 1;
	if (ioctl(fd, GPIO_V2_LINE_SET_CONFIG_IOCTL, &cfg) < 0) {
		fprintf(stderr, "set config: %s\n", strerror(errno));
		exit(1);
	}
}

/* Wait up to 1 s for one edge event on @fd; false when none came. */
static bool wait_edge(int fd)
{
	struct gpio_v2_line_event ev;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 1000) != 1)
		return false;
	if (read(fd, &ev, sizeof(ev)) != sizeof(ev)) {
		perror("read event");
		exit(1);
	}
	return true;
}

/* The chip's character device, open, and its info; -1 once reported. */
static int open_chip(const char *chip, struct gpiochip_info *ci)
{
	int fd = open(chip, O_RDWR);

	if (fd < 0 || ioctl(fd, GPIO_GET_CHIPINFO_IOCTL, ci) < 0) {
		perror(chip);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* "median_us p99_us ops_per_s", the line left open for more figures. */
static void report(int64_t *t, long n, int64_t total)
{
	qsort(t, n, sizeof(*t), cmp);
	printf("%.1f %.1f %.0f", t[n / 2] / 1e3, t[(n * 99) / 100] / 1e3,
	       n / (total / 1e9));
}

int main(int argc, char **argv)
{
	const char *chip, *mode;
	int64_t *t, start, begin;
	unsigned int line;
	int fd, in_fd = -1, level = 0;
	long n, i, lost = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: %s CHIP get|set|dirout|loop|rw|getafter|hold|edges|info|values|drive LINE N\n",
			argv[0]);
		return 2;
	}
	chip = argv[1];
	mode = argv[2];
	line = atoi(argv[3]);
	n = atol(argv[4]);
	t = calloc(n ? n : 1, sizeof(*t));
	if (!t)
		return 2;

	if (!strcmp(mode, "info")) {
		struct gpiochip_info ci;
		struct gpio_v2_line_info li;

		fd = open_chip(chip, &ci);
		if (fd < 0)
			return 1;
		printf("CHIP label=%s lines=%u\n", ci.label, ci.lines);
		for (i = 0; i < ci.lines; i++) {
			memset(&li, 0, sizeof(li));
			li.offset = i;
			if (ioctl(fd, GPIO_V2_GET_LINEINFO_IOCTL, &li) < 0) {
				perror("line info");
				return 1;
			}
			printf("LINE %ld name=%s dir=%s\n", i, li.name,
			       li.flags & GPIO_V2_LINE_FLAG_OUTPUT ? "out" : "in");
		}
		return 0;
	}

	if (!strcmp(mode, "values")) {
		struct gpiochip_info ci;
		struct gpio_v2_line_request req;
		struct gpio_v2_line_values v;

		fd = open_chip(chip, &ci);
		if (fd < 0)
			return 1;
		memset(&req, 0, sizeof(req));
		req.num_lines = ci.lines < GPIO_V2_LINES_MAX ?
				ci.lines : GPIO_V2_LINES_MAX;
		for (i = 0; i < req.num_lines; i++)
			req.offsets[i] = i;
		req.config.flags = GPIO_V2_LINE_FLAG_INPUT;
		strcpy(req.consumer, "gpio-probe");
		if (ioctl(fd, GPIO_V2_GET_LINE_IOCTL, &req) < 0) {
			fprintf(stderr, "request lines: %s\n", strerror(errno));
			return 1;
		}
		memset(&v, 0, sizeof(v));
		v.mask = req.num_lines == 64 ? ~0ULL : (1ULL << req.num_lines) - 1;
		if (ioctl(req.fd, GPIO_V2_LINE_GET_VALUES_IOCTL, &v) < 0) {
			fprintf(stderr, "get: %s\n", strerror(errno));
			return 1;
		}
		printf("VALUES ");
		for (i = 0; i < req.num_lines; i++)
			putchar(v.bits >> i & 1 ? '1' : '0');
		putchar('\n');
		return 0;
	}

	if (!strcmp(mode, "drive")) {
		close(request_line(chip, line, GPIO_V2_LINE_FLAG_OUTPUT, n != 0));
		return 0;
	}

	if (!strcmp(mode, "getafter")) {
		const char *name = strrchr(argv[4], '/');

		name = name ? name + 1 : argv[4];
		if (!strncmp(name, "go.", 3))
			name += 3;
		fd = request_line(chip, line, GPIO_V2_LINE_FLAG_INPUT, 0);
		printf("SYNC %s\n", name);
		fflush(stdout);
		while (access(argv[4], F_OK))
			usleep(20000);
		fprintf(stderr, "GOT %d\n", get_value(fd));
		return 0;
	}

	if (!strcmp(mode, "hold")) {
		char path[256];

		fd = request_line(chip, line, GPIO_V2_LINE_FLAG_OUTPUT, 1);
		printf("HOLDING line=%u\n", line);
		fflush(stdout);
		for (i = 1;; i++) {
			snprintf(path, sizeof(path), "%s/go.%ld", argv[4], i);
			while (access(path, F_OK))
				usleep(20000);
			printf("HELD %ld value=%d\n", i, get_value(fd));
			fflush(stdout);
		}
	}

	if (!strcmp(mode, "edges")) {
		struct gpio_v2_line_event ev;

		fd = request_line(chip, line, GPIO_V2_LINE_FLAG_INPUT |
				  GPIO_V2_LINE_FLAG_EDGE_RISING |
				  GPIO_V2_LINE_FLAG_EDGE_FALLING, 0);
		printf("EDGES-READY line=%u\n", line);
		fflush(stdout);
		for (i = 0; i < n; i++) {
			if (read(fd, &ev, sizeof(ev)) != sizeof(ev)) {
				perror("read event");
				return 1;
			}
			printf("EDGE %s %lld line=%u\n",
			       ev.id == GPIO_V2_LINE_EVENT_RISING_EDGE ?
			       "rising" : "falling",
			       (long long)now_ns(CLOCK_REALTIME), ev.offset);
			fflush(stdout);
		}
		return 0;
	}

	if (!strcmp(mode, "loop"))
		in_fd = request_line(chip, line + 1, GPIO_V2_LINE_FLAG_INPUT |
				     GPIO_V2_LINE_FLAG_EDGE_RISING |
				     GPIO_V2_LINE_FLAG_EDGE_FALLING, 0);
	fd = request_line(chip, line, strcmp(mode, "get") ?
			  GPIO_V2_LINE_FLAG_OUTPUT : GPIO_V2_LINE_FLAG_INPUT, 0);
	begin = now_ns(CLOCK_MONOTONIC);
	for (i = 0; i < n; i++) {
		start = now_ns(CLOCK_MONOTONIC);
		if (!strcmp(mode, "get")) {
			get_value(fd);
		} else if (!strcmp(mode, "set")) {
			set_value(fd, i & 1);
		} else if (!strcmp(mode, "dirout")) {
			set_output(fd, (i + 1) & 1);
		} else if (!strcmp(mode, "loop")) {
			/*
			 * A standard device reports an edge only while it holds
			 * the line's eventq buffer, which the driver re-arms
			 * after its irq thread ran: give it time, outside the
			 * timed section, then count an edge that never came.
			 */
			usleep(2000);
			/*
			 * Every attempt changes the level, an edge lost or
			 * not: driving the level it already has again would
			 * make no edge at all, and every retry would be lost.
			 */
			level = !level;
			start = now_ns(CLOCK_MONOTONIC);
			set_value(fd, level);
			if (!wait_edge(in_fd)) {
				lost++;
				i--;
				if (lost > n)
					break;
				continue;
			}
		} else {
			set_value(fd, (i + line) & 1);
			if (get_value(fd) != (int)((i + line) & 1)) {
				fprintf(stderr, "line %u: read back wrong value\n", line);
				return 1;
			}
		}
		t[i] = now_ns(CLOCK_MONOTONIC) - start;
	}
	if (!strcmp(mode, "rw")) {
		printf("RW-OK line=%u n=%ld\n", line, n);
	} else if (!strcmp(mode, "loop")) {
		if (lost > n) {
			fprintf(stderr, "more edges lost than asked for\n");
			return 1;
		}
		/* Edges per second of the timed sections only: not the pauses. */
		for (i = 0, begin = 0; i < n; i++)
			begin += t[i];
		report(t, n, begin);
		printf(" %ld\n", lost);
	} else {
		report(t, n, now_ns(CLOCK_MONOTONIC) - begin);
		printf("\n");
	}
	return 0;
}
