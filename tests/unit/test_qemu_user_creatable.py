"""qemu_user_creatable finds the store by structure, on any rebuild.

The images here are small ELF files laid out like QEMU's: a string, a
type-info structure in data whose pointers are R_X86_64_RELATIVE
relocations, and functions in an executable segment. Moving things
around (what a rebuild does) must not matter; a shape it does not know
must be refused rather than guessed. The system QEMU itself is covered by
tests/e2e/test_e2e_qemu_id30.py, whose guests need the patched copy.
"""

import struct

import pytest

from virtio_gpio.guests import qemu_user_creatable as uc

TEXT_VADDR = 0x1000
DATA_VADDR = 0x8000
STORE = b"\xc6\x83\x82\x00\x00\x00\x00"       # movb $0x0,0x82(%rbx)
OTHER = b"\xc6\x83\x90\x00\x00\x00\x00"       # a store to another field


def elf_image(text, name_at=0x40, functions=(0x10, 0x80), strings=None,
              name_pointers=1):
    """A little ELF64 whose type info points at functions in ``text``.

    Layout: headers, then the text segment (file offset == vaddr - 0x0),
    then the data segment holding the strings and the type info, then a
    .rela.dyn section and the section headers.
    """
    strings = strings if strings is not None else \
        b"\x00vhost-user-device-pci-base\x00vhost-user-device-pci\x00"
    name = strings.index(b"\x00vhost-user-device-pci\x00") + 1
    data = bytearray(0x200)
    data[:len(strings)] = strings
    relocs = []
    for i in range(name_pointers):
        relocs.append((DATA_VADDR + name_at + 0x100 * i, DATA_VADDR + name))
    # instance_init and class_init after the names, as in QEMU's layout
    for i, func in enumerate(functions):
        relocs.append((DATA_VADDR + name_at + 32 + 16 * i, TEXT_VADDR + func))
    rela = b"".join(struct.pack("<QQq", at, uc._R_X86_64_RELATIVE, addend)
                    for at, addend in relocs)

    ehdr_size, phdr_size, shdr_size = 64, 56, 64
    text_off = TEXT_VADDR
    data_off = text_off + len(text)
    rela_off = data_off + len(data)
    sh_off = rela_off + len(rela)
    image = bytearray(sh_off + 2 * shdr_size)
    image[0:16] = b"\x7fELF\x02\x01\x01" + bytes(9)
    struct.pack_into("<HHIQQQIHHHHHH", image, 16, 3, 62, 1, 0, ehdr_size,
                     sh_off, 0, ehdr_size, phdr_size, 2, shdr_size, 2, 0)
    struct.pack_into("<IIQQQQQQ", image, ehdr_size, 1, 5, text_off,
                     TEXT_VADDR, TEXT_VADDR, len(text), len(text), 0x1000)
    struct.pack_into("<IIQQQQQQ", image, ehdr_size + phdr_size, 1, 6,
                     data_off, DATA_VADDR, DATA_VADDR, len(data), len(data),
                     0x1000)
    image[text_off:data_off] = text
    image[data_off:rela_off] = data
    image[rela_off:sh_off] = rela
    struct.pack_into("<IIQQQQIIQQ", image, sh_off + shdr_size, 0, 4, 2,
                     rela_off, rela_off, len(rela), 0, 0, 8, 24)
    return bytes(image)


def text_with(*placements, size=0x200):
    text = bytearray(b"\x90" * size)
    for at, code in placements:
        text[at:at + len(code)] = code
    return bytes(text)


def test_finds_the_store_in_class_init():
    image = elf_image(text_with((0x80 + 0x2d, STORE), (0x10 + 4, OTHER)))
    offset, value = uc.find_store(image)
    assert offset == TEXT_VADDR + 0x80 + 0x2d + len(STORE) - 1
    assert value == 0


@pytest.mark.parametrize("shift", [0, 0x30, 0x90])
def test_a_rebuild_that_moves_the_functions_is_still_found(shift):
    funcs = (0x10 + shift, 0x80 + shift)
    image = elf_image(text_with((funcs[1] + 7, STORE), size=0x300),
                      functions=funcs)
    offset, _ = uc.find_store(image)
    assert image[offset - 6:offset + 1] == STORE


def test_the_patched_copy_sets_the_immediate_and_nothing_else():
    image = elf_image(text_with((0x80 + 3, STORE)))
    patched, before = uc.make_user_creatable(image)
    assert before == 0
    diff = [i for i in range(len(image)) if image[i] != patched[i]]
    assert len(diff) == 1 and patched[diff[0]] == 1
    assert uc.find_store(patched) == (diff[0], 1)


def test_a_store_outside_the_types_functions_is_not_taken():
    # the byte pattern exists, but in code the type info does not point at
    image = elf_image(text_with((0x180, STORE)))
    with pytest.raises(uc.NotPatchable, match="0 stores"):
        uc.find_store(image)


def test_two_candidate_stores_are_refused():
    image = elf_image(text_with((0x10 + 8, STORE), (0x80 + 8, STORE)))
    with pytest.raises(uc.NotPatchable, match="2 stores"):
        uc.find_store(image)


def test_a_binary_without_the_device_name_is_refused():
    image = elf_image(text_with((0x80 + 3, STORE)),
                      strings=b"\x00vhost-user-device-pci\x00")
    image = image.replace(b"vhost-user-device-pci", b"vhost-user-gpio-pci-x")
    with pytest.raises(uc.NotPatchable, match="0 pointers"):
        uc.find_store(image)


def test_an_ambiguous_name_is_refused():
    image = elf_image(text_with((0x80 + 3, STORE)), name_pointers=2)
    with pytest.raises(uc.NotPatchable, match="2 pointers"):
        uc.find_store(image)


def test_a_truncated_file_is_refused():
    image = elf_image(text_with((0x80 + 3, STORE)))
    with pytest.raises(uc.NotPatchable, match="truncated"):
        uc.find_store(image[:-10])


def test_not_an_elf_file_is_refused():
    with pytest.raises(uc.NotPatchable, match="ELF"):
        uc.find_store(b"#!/bin/sh\n" + bytes(100))
