// SPDX-License-Identifier: GPL-2.0
/*
 * A host kernel's NT_X86_XSTATE regset and CPUID leaf 0xD, modelled, for
 * UML's arch/x86/um/os-Linux/registers.c to run against. Real hosts come
 * in one size each; this one takes the size and XSAVE components of the
 * host named on the command line, so that the paths of the 6.1 patch that
 * no CI machine takes (AMX's 11008 bytes, a component UML cannot keep)
 * run too.
 *
 * What the model keeps of Linux (arch/x86/kernel/fpu/regset.c, xstate.c,
 * kernel/ptrace.c):
 * - GETREGSET trims iov_len to the host's size and fills bytes 464..471
 *   with the host's XCR0;
 * - SETREGSET trims iov_len the same way, then takes exactly the host's
 *   size or answers EFAULT; it refuses (EINVAL) an XSAVE header whose
 *   xstate_bv names a component the task may not use (AMX tile data
 *   without arch_prctl(ARCH_REQ_XCOMP_PERM)) or whose xcomp_bv is set;
 *   components missing from xstate_bv are put in their init state.
 *
 * Usage: fake-host HOST, where HOST is one of the names in hosts[]. Prints
 * key=value lines; exits 1 where registers.c itself exits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <linux/elf.h>

#include "include/registers.h"

#define MAX_XSTATE 16384
#define SW_XCR0 464		/* bytes of the regset holding the host's XCR0 */
#define XSTATE_BV 512
#define XCOMP_BV 520
#define XTILEDATA (1ULL << 18)
#define GUARD 0x5a

struct component {
	unsigned int offset, size;
};

struct host {
	const char *name;
	unsigned long size;
	unsigned long long xcr0;		/* what the kernel enabled */
	struct component cpu[64];		/* what CPUID 0xD describes */
};

#define AVX512 \
	[2] = { 576, 256 }, [5] = { 1088, 64 }, [6] = { 1152, 512 }, \
	[7] = { 1664, 1024 }, [9] = { 2688, 8 }
#define AMX [17] = { 2752, 64 }, [18] = { 2816, 8192 }

static const struct host hosts[] = {
	/* x87, SSE, AVX: smaller than UML's buffer */
	{ "avx", 832, 0x7, { [2] = { 576, 256 } } },
	/* AVX-512 and PKRU: exactly UML 6.1's 2696 */
	{ "avx512", 2696, 0x2e7, { AVX512 } },
	/* Sapphire Rapids and later: AMX tiles beyond 2696 */
	{ "amx", 11008, 0x602e7, { AVX512, AMX } },
	/* the CPU knows a further component the kernel did not enable */
	{ "amx-cpu-extra", 11008, 0x602e7,
	  { AVX512, AMX, [19] = { 11008, 64 } } },
	/* an enabled component beyond 2696 that is not AMX */
	{ "unknown-beyond", 2760, 0x802e7, { AVX512, [19] = { 2696, 64 } } },
};

static const struct host *host;
static unsigned char task[3][MAX_XSTATE];	/* the host's state per pid */

static unsigned long long word(const unsigned char *state, int at)
{
	unsigned long long v;

	memcpy(&v, state + at, sizeof(v));
	return v;
}

void fake_cpuid(unsigned int leaf, unsigned int sub, unsigned int *eax,
		unsigned int *ebx, unsigned int *ecx, unsigned int *edx)
{
	unsigned long long supported = 0x3;
	int i;

	*eax = *ebx = *ecx = *edx = 0;
	if (leaf != 0xd || sub >= 64)
		return;
	if (sub > 1) {
		*eax = host->cpu[sub].size;
		*ebx = host->cpu[sub].offset;
	} else if (sub == 0) {
		/* EDX:EAX: the components the CPU supports, enabled or not */
		for (i = 2; i < 64; i++)
			if (host->cpu[i].size)
				supported |= 1ULL << i;
		*eax = (unsigned int)supported;
		*edx = (unsigned int)(supported >> 32);
		*ebx = (unsigned int)host->size;
	}
}

static long set_regset(int pid, struct iovec *iov)
{
	unsigned long long permitted = host->xcr0 & ~XTILEDATA;
	const unsigned char *in = iov->iov_base;
	unsigned long long bv;
	int i;

	if (iov->iov_len > host->size)
		iov->iov_len = host->size;
	if (iov->iov_len != host->size) {
		errno = EFAULT;
		return -1;
	}
	bv = word(in, XSTATE_BV);
	if ((bv & ~permitted) || word(in, XCOMP_BV)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(task[pid], in, host->size);
	for (i = 2; i < 64; i++)
		if ((host->xcr0 & (1ULL << i)) && !(bv & (1ULL << i)))
			memset(task[pid] + host->cpu[i].offset, 0,
			       host->cpu[i].size);
	return 0;
}

long fake_ptrace(int request, int pid, long addr, void *data)
{
	struct iovec *iov = data;

	if (pid < 1 || pid > 2 || addr != NT_X86_XSTATE) {
		errno = EIO;
		return -1;
	}
	switch (request) {
	case PTRACE_GETREGSET:
		if (iov->iov_len > host->size)
			iov->iov_len = host->size;
		memcpy(iov->iov_base, task[pid], iov->iov_len);
		if (iov->iov_len >= SW_XCR0 + 8)
			memcpy((char *)iov->iov_base + SW_XCR0, &host->xcr0, 8);
		return 0;
	case PTRACE_SETREGSET:
		return set_regset(pid, iov);
	default:
		errno = EIO;
		return -1;
	}
}

/* A task's state as the host holds it: every byte set, tiles included. */
static void fill_task(int pid, unsigned char seed)
{
	unsigned long long bv = host->xcr0 & ~XTILEDATA;
	unsigned long i;

	for (i = 0; i < host->size; i++)
		task[pid][i] = (unsigned char)(seed + i * 7);
	memcpy(task[pid] + SW_XCR0, &host->xcr0, 8);
	memcpy(task[pid] + XSTATE_BV, &bv, 8);
	memset(task[pid] + XCOMP_BV, 0, 64 - 8);
}

static int all_zero(const unsigned char *p, unsigned long n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	static unsigned long regs[HOST_FP_BYTES / sizeof(unsigned long) + 8];
	unsigned long kept, i;
	int ret;

	for (i = 0; argc == 2 && i < sizeof(hosts) / sizeof(hosts[0]); i++)
		if (!strcmp(argv[1], hosts[i].name))
			host = &hosts[i];
	if (!host) {
		fprintf(stderr, "usage: %s HOST\n", argv[0]);
		return 2;
	}
	kept = host->size < HOST_FP_BYTES ? host->size : HOST_FP_BYTES;
	memset(regs, GUARD, sizeof(regs));
	fill_task(1, 1);
	fill_task(2, 99);
	/* a previous user of the host's tile area, which must not leak */
	if (host->xcr0 & XTILEDATA)
		memset(task[2] + host->cpu[18].offset, 0xaa, host->cpu[18].size);

	arch_init_registers(1);
	ret = save_fp_registers(1, regs);
	printf("save=%d\n", ret);
	printf("regs_guard_intact=%d\n",
	       ((unsigned char *)regs)[HOST_FP_BYTES] == GUARD);
	ret = restore_fp_registers(2, regs);
	printf("restore=%d\n", ret);
	if (ret)
		return 0;
	/* every kept byte but xstate_bv, which is printed apart */
	printf("kept_equal=%d\n", !memcmp(task[1], task[2], XSTATE_BV) &&
	       !memcmp(task[1] + XSTATE_BV + 8, task[2] + XSTATE_BV + 8,
		       kept - XSTATE_BV - 8));
	printf("beyond_zero=%d\n",
	       all_zero(task[2] + kept, host->size - kept));
	printf("xstate_bv_sent=%#llx\n", word(task[2], XSTATE_BV));
	printf("xstate_bv_saved=%#llx\n", word(task[1], XSTATE_BV));
	return 0;
}
