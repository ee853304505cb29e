/* SPDX-License-Identifier: GPL-2.0 */
/* UML's jmp_buf (arch/x86/um/shared/sysdep/archsetjmp_64.h) and printk. */
#ifndef FAKE_LONGJMP_H
#define FAKE_LONGJMP_H

#include <stdio.h>

struct __jmp_buf {
	unsigned long __rbx, __rsp, __rbp, __r12, __r13, __r14, __r15, __rip;
};
typedef struct __jmp_buf jmp_buf[1];

#define UM_KERN_ERR ""
#define printk printf

#endif
