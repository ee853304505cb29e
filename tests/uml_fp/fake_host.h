/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Forced into UML's arch/x86/um/os-Linux/registers.c (gcc -include) so that
 * its ptrace() calls reach the model of a host kernel in fake_host.c
 * instead of a real tracee. Included before the file's own includes, so
 * the real <sys/ptrace.h> is seen once, here, before the rename.
 */
#ifndef FAKE_HOST_H
#define FAKE_HOST_H

#include <sys/ptrace.h>

long fake_ptrace(int request, int pid, long addr, void *data);
#define ptrace(request, pid, addr, data) \
	fake_ptrace(request, pid, (long)(addr), (void *)(data))

#endif
