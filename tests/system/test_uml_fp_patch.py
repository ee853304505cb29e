"""The UML 6.1 FP-state patch on hosts this machine is not.

tools/uml-patches/6.1/0001-um-x86-fp-state-sized-by-the-host.patch sizes
UML's FP transfers by the host's XSAVE area. A real host has one size, so
the end-to-end boot (tests/e2e/test_e2e_uml.py) only takes the path of the
machine it runs on. Here UML's own registers.c, from Debian's 6.1 tree,
patched and unpatched, is built against a model of the host kernel's
NT_X86_XSTATE regset and CPUID (tests/uml_fp/fake_host.c) and run as a
host with AVX only, with AVX-512 (exactly UML's buffer), with AMX, and
with a component UML cannot keep.
"""

import os
import re
import shutil
import subprocess

import pytest

from checkout import ROOT
from virtio_gpio.guests import kernels

HARNESS = os.path.join(ROOT, "tests", "uml_fp")
PATCH = os.path.join(ROOT, "tools", "uml-patches", "6.1",
                     "0001-um-x86-fp-state-sized-by-the-host.patch")
REGISTERS = os.path.join("arch", "x86", "um", "os-Linux", "registers.c")
AMX_TILE = (1 << 17) | (1 << 18)

#: host name in fake_host.c -> its XSAVE size in bytes. "amx-cpu-extra"
#: has a CPU that lists a component beyond 2696 bytes which the host
#: kernel did not enable: it is not in the regset, so it is not refused.
HOSTS = {"avx": 832, "avx512": 2696, "amx": 11008, "amx-cpu-extra": 11008}


def uml_fp_bytes(tree):
    """UML 6.1's fixed FP buffer in bytes, as user-offsets.c defines it."""
    with open(os.path.join(tree, "arch", "x86", "um", "user-offsets.c")) as f:
        return int(re.search(r"DEFINE_LONGS\(HOST_FP_SIZE, (\d+)\)",
                             f.read()).group(1))


def build(tree, registers_c, out):
    subprocess.run(
        ["gcc", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter",
         "-Werror", "-DHOST_FP_BYTES=%d" % uml_fp_bytes(tree),
         "-I", os.path.join(HARNESS, "include"),
         "-include", os.path.join(HARNESS, "fake_host.h"),
         "-o", out, os.path.join(HARNESS, "fake_host.c"), registers_c],
        check=True)
    return out


@pytest.fixture(scope="module")
def binaries(tmp_path_factory):
    """{"unpatched": path, "patched": path} of the harness programs."""
    tree = kernels.source("6.1")
    work = tmp_path_factory.mktemp("uml-fp")
    copy = work / "tree"
    os.makedirs(copy / os.path.dirname(REGISTERS))
    shutil.copy(os.path.join(tree, REGISTERS), copy / REGISTERS)
    unpatched = build(tree, str(copy / REGISTERS), str(work / "unpatched"))
    subprocess.run(["patch", "-s", "-p1", "--batch", "-d", str(copy),
                    "-i", PATCH], check=True)
    patched = build(tree, str(copy / REGISTERS), str(work / "patched"))
    assert uml_fp_bytes(tree) == 2696
    return {"unpatched": unpatched, "patched": patched}


def run(binary, host):
    proc = subprocess.run([binary, host], capture_output=True, text=True,
                          timeout=30)
    values = dict(line.split("=", 1) for line in proc.stdout.splitlines()
                  if "=" in line and not line.startswith("x86/um"))
    return proc, values


def test_unpatched_6_1_cannot_restore_fp_state_on_an_amx_host(binaries):
    # the reported failure: "ptrace set fp regs failed, errno = 14"
    proc, values = run(binaries["unpatched"], "amx")
    assert proc.returncode == 0, proc.stderr
    assert values["save"] == "0"
    assert values["restore"] == "-14"


@pytest.mark.parametrize("host", ["avx", "avx512"])
def test_unpatched_6_1_works_up_to_its_buffer(binaries, host):
    _, values = run(binaries["unpatched"], host)
    assert values["restore"] == "0"


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_patched_moves_fp_state_in_the_hosts_size(binaries, host):
    proc, values = run(binaries["patched"], host)
    assert proc.returncode == 0, proc.stderr
    size, kept, reset = re.search(
        r"host FP state (\d+) bytes \(NT_X86_XSTATE\), (\d+) kept per task, "
        r"components reset: (0x[0-9a-f]+|0)", proc.stdout).groups()
    assert int(size) == HOSTS[host]
    assert int(kept) == min(HOSTS[host], 2696)
    assert int(reset, 16) == (AMX_TILE if HOSTS[host] > 2696 else 0)
    assert values["save"] == "0"
    assert values["regs_guard_intact"] == "1"     # nothing beyond the buffer
    assert values["restore"] == "0"
    assert values["kept_equal"] == "1"            # the task's state survives
    assert values["beyond_zero"] == "1"           # nothing of another task
    saved = int(values["xstate_bv_saved"], 16)
    assert int(values["xstate_bv_sent"], 16) == saved & ~int(reset, 16)


def test_patched_refuses_a_component_it_cannot_keep(binaries):
    proc, values = run(binaries["patched"], "unknown-beyond")
    assert proc.returncode == 1
    assert "XSAVE components 0x80000 beyond the 2696 bytes" in proc.stderr
    assert "refusing to run" in proc.stderr
    assert "save" not in values
