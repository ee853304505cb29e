// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * An in-kernel GPIO consumer for tests/e2e/test_e2e_uml_unbind_window.py:
 * it reads a line the way gpiolib before 6.9 does in
 * gpiod_get_raw_value_commit(), the chip pointer taken and checked, then
 * the chip's get() called with nothing held, and widens the gap between
 * the two (gap_ms) so that an unbind falls in it even on a uniprocessor
 * kernel that does not preempt. Loaded with the line's global number; it
 * holds the line (and so a reference to the chip's module, which 6.1
 * never drops once the chip is gone) until it is unloaded. For kernels
 * before 6.9 only: later ones guard the chip pointer with SRCU, which a
 * caller outside gpiolib cannot take.
 */
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/gpio.h>
#include <linux/gpio/consumer.h>
#include <linux/gpio/driver.h>
#include <linux/kthread.h>
#include <linux/module.h>

static unsigned int gpio;
module_param(gpio, uint, 0444);
MODULE_PARM_DESC(gpio, "global number of the line to read");

static unsigned int gap_ms = 3000;
module_param(gap_ms, uint, 0444);
MODULE_PARM_DESC(gap_ms, "time between the chip check and the call");

static struct gpio_desc *desc;
static struct task_struct *reader;

static int window_read(void *unused)
{
	struct gpio_chip *gc = gpiod_to_chip(desc);
	unsigned int offset;
	int ret;

	if (!gc) {
		pr_info("WINDOW-NO-CHIP\n");
		goto out;
	}
	offset = gpio - gc->base;
	pr_info("WINDOW-OPEN %u\n", offset);
	msleep(gap_ms);
	ret = gc->get ? gc->get(gc, offset) : -EIO;
	pr_info("WINDOW-GET %d\n", ret);
out:
	while (!kthread_should_stop())
		msleep(20);
	return 0;
}

static int __init window_init(void)
{
	int ret = gpio_request(gpio, "unbind-window");

	if (ret)
		return ret;
	/* Kept: once its chip is gone, the number names no line. */
	desc = gpio_to_desc(gpio);
	reader = kthread_run(window_read, NULL, "unbind-window");
	if (IS_ERR(reader)) {
		gpiod_put(desc);
		return PTR_ERR(reader);
	}
	return 0;
}
module_init(window_init);

static void __exit window_exit(void)
{
	kthread_stop(reader);
	gpiod_put(desc);
}
module_exit(window_exit);

MODULE_DESCRIPTION("Test consumer: a GPIO read across its chip's unbind");
MODULE_LICENSE("GPL");
