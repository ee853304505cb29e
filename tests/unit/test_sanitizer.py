"""The sanitizer pass really fails on a finding.

Runs only in `make test-asan` (marker "sanitizer", deselected in the plain
pass): a child process with the same sanitized core and environment
overflows a heap buffer inside the extension's C code (the ring simulator
the core is linked with), and must die with an AddressSanitizer report
instead of carrying on.
"""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.sanitizer

OVERFLOW = """
from virtio_gpio._binding import ffi, lib
ring = lib.simvq_new(4)
small = lib.vgpio_zalloc(8)
assert lib.simvq_add(ring, ffi.NULL, 0, small, 64, small) == 0  # 64 claimed, 8 there
desc = lib.simvq_pop_avail(ring)
data = ffi.new("char[64]", b"x" * 63)
lib.simvq_write(ring, desc, data, 64)             # heap-buffer-overflow
print("NOT CAUGHT")
"""


def test_heap_overflow_in_the_sanitized_extension_aborts_the_run():
    assert os.environ.get("VGPIO_EXPECT_CORE_DIR"), "run me through make test-asan"
    proc = subprocess.run([sys.executable, "-c", OVERFLOW], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0
    assert "NOT CAUGHT" not in proc.stdout
    assert "AddressSanitizer: heap-buffer-overflow" in proc.stderr
    assert "simvq_write" in proc.stderr
