"""Find, in a QEMU 10.0 binary, the store that hides vhost-user-device-pci.

QEMU 10.0's ``vhost_user_device_pci_class_init()`` sets
``dc->user_creatable = false`` ("stop users confusing themselves"), so
``-device vhost-user-device-pci`` is refused although the device works;
QEMU's own documentation says to remove that line and rebuild, and later
QEMU releases lifted it. We need the generic device to attach a device
with virtio ID 30 (the 2020 protocol), and rebuilding QEMU is out of
reach of a test run, so a copy of the binary gets that one store's
immediate changed from 0 to 1.

The store is found from the binary's own structure rather than from a
checksum, so that a rebuild of the same QEMU release (a Debian security
update) still works:

1. the NUL-terminated string ``vhost-user-device-pci`` in the file;
2. the R_X86_64_RELATIVE relocation whose addend is that string: in a
   position-independent binary every pointer in static data has one, so
   this is the ``non_transitional_name`` field of the device's
   VirtioPCIDeviceTypeInfo;
3. the other relocated pointers of that structure that point into
   executable code: ``instance_init`` and ``class_init``;
4. in the first bytes of those functions, exactly one
   ``movb $0x0, 0x82(%reg)``: 0x82 is the offset of
   ``DeviceClass.user_creatable`` in QEMU 10.0 on x86-64.

Anything else (no string, no relocation, zero or several candidate
stores) is refused with a message; nothing is guessed.
"""

import re
import struct

DEVICE_NAME = b"vhost-user-device-pci"

#: offsetof(DeviceClass, user_creatable) in QEMU 10.0 on x86-64.
USER_CREATABLE_OFFSET = 0x82

#: How far into each candidate function a store is looked for; the
#: class_init in question sets four fields, well within this.
FUNCTION_WINDOW = 0x100

#: How many bytes around the name field the structure may span.
STRUCT_WINDOW = 0x60

_R_X86_64_RELATIVE = 8
_SHT_RELA = 4
_PT_LOAD = 1
_PF_X = 1

# movb $imm8, disp32(%reg): C6 /0 with ModRM mod=10 and rm a plain
# register (rm=100 would need a SIB byte, rm=101 is %rbp-relative and
# equally valid but never used for an object pointer here).
_MOVB_DISP32 = re.compile(
    rb"\xc6[\x80-\x83\x85-\x87]" + re.escape(
        struct.pack("<i", USER_CREATABLE_OFFSET)) + rb"([\x00\x01])",
    re.DOTALL)


class NotPatchable(Exception):
    """The binary does not have the shape this module knows."""


class _Elf:
    """Just enough of a little-endian ELF64 file to follow relocations."""

    def __init__(self, image):
        if image[:4] != b"\x7fELF" or image[4] != 2 or image[5] != 1:
            raise NotPatchable("not a little-endian 64-bit ELF file")
        self.image = image
        (self.phoff, self.shoff) = struct.unpack_from("<QQ", image, 0x20)
        (self.phentsize, self.phnum, self.shentsize,
         self.shnum) = struct.unpack_from("<HHHH", image, 0x36)

    def segments(self):
        """(type, flags, file offset, vaddr, file size) of each segment."""
        for i in range(self.phnum):
            p_type, p_flags, p_offset, p_vaddr, _, p_filesz = \
                struct.unpack_from("<IIQQQQ", self.image,
                                   self.phoff + i * self.phentsize)
            yield p_type, p_flags, p_offset, p_vaddr, p_filesz

    def relative_relocations(self):
        """{address: addend} of every R_X86_64_RELATIVE relocation."""
        out = {}
        for i in range(self.shnum):
            (_, sh_type, _, _, sh_offset, sh_size,
             _, _, _, sh_entsize) = struct.unpack_from(
                 "<IIQQQQIIQQ", self.image, self.shoff + i * self.shentsize)
            if sh_type != _SHT_RELA or sh_entsize != 24:
                continue
            for off in range(sh_offset, sh_offset + sh_size, 24):
                r_offset, r_info, r_addend = struct.unpack_from(
                    "<QQq", self.image, off)
                if r_info & 0xffffffff == _R_X86_64_RELATIVE:
                    out[r_offset] = r_addend
        return out

    def file_offset(self, vaddr, executable=False):
        """File offset of vaddr, or None when no loaded segment holds it."""
        for p_type, p_flags, p_offset, p_vaddr, p_filesz in self.segments():
            if p_type != _PT_LOAD:
                continue
            if executable and not p_flags & _PF_X:
                continue
            if p_vaddr <= vaddr < p_vaddr + p_filesz:
                return p_offset + vaddr - p_vaddr
        return None

    def vaddr(self, file_offset):
        """Virtual address of a file offset inside a loaded segment."""
        for p_type, _, p_offset, p_vaddr, p_filesz in self.segments():
            if p_type == _PT_LOAD and p_offset <= file_offset < \
                    p_offset + p_filesz:
                return p_vaddr + file_offset - p_offset
        return None


def find_store(image):
    """File offset of the immediate byte of the user_creatable store.

    ``image`` is the binary's content. Returns (offset, current value),
    the value being 0 for a pristine binary and 1 for a patched one.
    Raises NotPatchable when the binary does not have the expected shape.
    """
    try:
        return _find_store(image)
    except (struct.error, IndexError) as e:
        raise NotPatchable("truncated or malformed ELF file: %s" % e) from e


def _find_store(image):
    elf = _Elf(image)
    names = [m.start() + 1 for m in
             re.finditer(rb"\x00" + re.escape(DEVICE_NAME) + rb"\x00", image)]
    names = [elf.vaddr(n) for n in names]
    relocs = elf.relative_relocations()
    fields = [at for at, addend in relocs.items() if addend in names]
    if len(fields) != 1:
        raise NotPatchable("%d pointers to the string %r (expected 1)"
                           % (len(fields), DEVICE_NAME.decode()))
    functions = set()
    for at in range(fields[0] - STRUCT_WINDOW, fields[0] + STRUCT_WINDOW, 8):
        target = relocs.get(at)
        if target is not None and \
                elf.file_offset(target, executable=True) is not None:
            functions.add(elf.file_offset(target, executable=True))
    stores = set()     # windows of neighbouring functions may overlap
    for start in functions:
        window = image[start:start + FUNCTION_WINDOW]
        for m in _MOVB_DISP32.finditer(window):
            stores.add((start + m.start(1), window[m.start(1)]))
    if len(stores) != 1:
        raise NotPatchable(
            "%d stores to DeviceClass.user_creatable near the %s type "
            "(expected 1)" % (len(stores), DEVICE_NAME.decode()))
    return stores.pop()


def make_user_creatable(image):
    """Return a copy of image with the device made user-creatable."""
    offset, value = find_store(image)
    patched = bytearray(image)
    patched[offset] = 1
    return bytes(patched), value
