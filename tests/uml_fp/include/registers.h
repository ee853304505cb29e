/* SPDX-License-Identifier: GPL-2.0 */
/* UML's include/shared/registers.h: what the harness calls. */
#ifndef FAKE_REGISTERS_H
#define FAKE_REGISTERS_H

int save_fp_registers(int pid, unsigned long *fp_regs);
int restore_fp_registers(int pid, unsigned long *fp_regs);
void arch_init_registers(int pid);

#endif
