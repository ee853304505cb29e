/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FP_SIZE as UML 6.1 has it on x86_64 with XSAVE headers: HOST_FP_SIZE in
 * arch/x86/um/user-offsets.c, a fixed number of bytes that the test reads
 * from the tree and passes as HOST_FP_BYTES. Also the register numbers
 * get_thread_reg() switches on.
 */
#ifndef FAKE_PTRACE_USER_H
#define FAKE_PTRACE_USER_H

#define FP_SIZE (HOST_FP_BYTES / sizeof(unsigned long))
#define HOST_IP 0
#define HOST_SP 1
#define HOST_BP 2

#endif
