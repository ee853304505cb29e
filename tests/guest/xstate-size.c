// SPDX-License-Identifier: GPL-2.0
/*
 * Prints the size of this host's NT_X86_XSTATE ptrace regset, the number
 * of bytes its PTRACE_SETREGSET insists on: the figure a UML kernel must
 * learn from the host to run here (see tools/uml-patches/6.1). It is
 * measured the way the host kernel reports it, independently of UML: a
 * stopped child, PTRACE_GETREGSET with a buffer larger than any XSAVE
 * area, and the length the kernel trims it to.
 */
#include <elf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	static char buf[1 << 20];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	int status, ret;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(2);
		raise(SIGSTOP);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
		fprintf(stderr, "child did not stop for the tracer\n");
		return 1;
	}
	ret = ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &iov);
	if (ret)
		perror("PTRACE_GETREGSET(NT_X86_XSTATE)");
	else
		printf("%zu\n", iov.iov_len);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return ret ? 1 : 0;
}
