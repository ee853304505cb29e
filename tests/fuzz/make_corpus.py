#!/usr/bin/env python3
"""Write the seed corpus of the libFuzzer harnesses (tests/fuzz/corpus/).

Each seed is a meaningful run in the input layout the harness's header
comment describes: valid and invalid devices for fuzz_probe, and for
fuzz_stream every operation answered, interrupts that fire, and the
hostile cases (timeouts and late replies, wrong lengths, broken rings,
kill while waiting). The fuzzer mutates from there. Run it again after
changing an input layout; the files are kept in the repository so that
`make fuzz` needs no Python.
"""

import argparse
import hashlib
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent

# fuzz_stream.c, enum step
(REQUEST, SET_TYPE, ENABLE, MASK, SYNC, WATCH, DEV_REPLY, DEV_RAW, DEV_EVENT,
 BAD_USED, CALLBACK, KILL, CONSUME, WAIT_RETURN, WAIT_TIMEOUT,
 WAIT_EINTR) = range(16)

# vgpio_core.h VGPIO_OP_*
OP_REQUEST, OP_DIR_IN, OP_DIR_OUT, OP_GET_DIR, OP_GET, OP_SET, OP_FREE = range(1, 8)

# fuzz_stream.c irq_types[] indexes
T_NONE, T_RISING, T_FALLING, T_BOTH, T_HIGH, T_LOW = range(6)

# fuzz_host.c fuzz_used_len() choices
LEN_EXACT, LEN_ZERO, LEN_SHORT, LEN_LONG, LEN_4G = 0, 1, 2, 3, 4

CALLBACK_NOW = 0x80


def u16(v):
    return struct.pack("<H", v)


def u32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


# ---------------------------------------------------------------- probe

def id30_config(ngpio, names=b"", name=b"", version=1, names_size=None):
    size = len(names) if names_size is None else names_size
    fixed = bytes([version, 0]) + u16(ngpio) + u32(size) + bytes(24)
    fixed += name.ljust(32, b"\0")[:32]
    return fixed + names


def std_config(ngpio, names_size):
    return u16(ngpio) + bytes(2) + u32(names_size)


def probe(dev, flags, window, cfg, fail=0xFF, ring=8, tail=b""):
    """dev: 0 ID 30, 1 standard, or ('raw', id)."""
    head = bytes([2, dev[1]]) if isinstance(dev, tuple) else bytes([dev])
    cfg = cfg.ljust(window, b"\0")[:window]
    return head + bytes([flags]) + u16(window) + bytes([fail, ring]) + cfg + tail


TOLD, IRQ, SILENT = 2, 1, 4


def probe_seeds():
    names = b"led\0button\0"
    ok = id30_config(2, names, b"demo")
    yield "id30-ok-told", probe(0, TOLD, len(ok), ok)
    yield "id30-ok-untold", probe(0, 0, len(ok), ok)
    yield "id30-no-names", probe(0, TOLD, 64, id30_config(8))
    yield "id30-name-32-bytes", probe(0, TOLD, 64, id30_config(1, name=b"x" * 32))
    yield "id30-names-past-window", probe(0, TOLD, 64 + 4, id30_config(2, b"a\0b\0", names_size=100))
    yield "id30-names-4096", probe(0, 0, 200, id30_config(2, names_size=4096 - 64))
    # the first finding: a 64-byte window, untold, and a 1000-byte block
    yield "id30-names-past-256-untold", probe(0, 0, 64, id30_config(2, names_size=1000))
    yield "id30-names-hostile", probe(0, TOLD, 64 + 15, id30_config(
        3, b"%s%px\0a/b\0x\ny\0", b"%n\n"))
    yield "id30-names-no-nul", probe(0, TOLD, 64 + 5, id30_config(3, b"abcde"))
    yield "id30-empty-names", probe(0, TOLD, 64 + 4, id30_config(4, b"\0\0x\0"))
    yield "id30-window-short", probe(0, TOLD, 32, ok)
    yield "id30-version-2", probe(0, TOLD, 64, id30_config(2, version=2))
    yield "id30-ngpio-0", probe(0, TOLD, 64, id30_config(0))
    yield "id30-ngpio-257", probe(0, TOLD, 64, id30_config(257))
    yield "id30-ngpio-256", probe(0, TOLD, 64, id30_config(256))
    yield "id30-ring-1", probe(0, TOLD, len(ok), ok, ring=0)
    for n in range(6):
        yield f"id30-alloc-fails-{n}", probe(0, TOLD, len(ok), ok, fail=n)

    names = b"a\0bb\0ccc\0"
    cfg = std_config(3, len(names))
    answer = bytes([LEN_EXACT, 0]) + names
    yield "std-names", probe(1, TOLD, 8, cfg, tail=answer)
    yield "std-names-irq", probe(1, TOLD | IRQ, 8, cfg, tail=answer)
    yield "std-names-untold", probe(1, 0, 8, cfg, tail=answer)
    yield "std-names-error", probe(1, TOLD, 8, cfg, tail=bytes([LEN_EXACT, 1]) + names)
    yield "std-names-bad-status", probe(1, TOLD, 8, cfg, tail=bytes([LEN_EXACT, 7]) + names)
    yield "std-names-short", probe(1, TOLD, 8, cfg, tail=bytes([LEN_SHORT, 0]) + names)
    yield "std-names-4g", probe(1, TOLD, 8, cfg, tail=bytes([LEN_4G, 0]) + names)
    yield "std-names-zero", probe(1, TOLD, 8, cfg, tail=bytes([LEN_ZERO]))
    yield "std-names-silent", probe(1, TOLD | SILENT, 8, cfg)
    yield "std-names-no-nul", probe(1, TOLD, 8, std_config(2, 4), tail=bytes([0, 0]) + b"abcd")
    yield "std-no-names", probe(1, TOLD | IRQ, 8, std_config(16, 0))
    yield "std-names-too-big", probe(1, TOLD, 8, std_config(2, 32769))
    yield "std-names-max", probe(1, TOLD, 8, std_config(256, 32768), tail=bytes([LEN_EXACT, 0]) + b"x\0" * 64)
    yield "std-window-short", probe(1, TOLD, 6, cfg)
    yield "std-ngpio-0", probe(1, TOLD, 8, std_config(0, 0))
    for n in range(4):
        yield f"std-alloc-fails-{n}", probe(1, TOLD | IRQ, 8, cfg, fail=n, tail=answer)
    # ID 30 is the video encoder's in the virtio spec: not ours unless it
    # passes every check; other IDs are never ours.
    yield "id30-video-encoder-shape", probe(0, TOLD, 64, bytes(range(64)))
    yield "id-5", probe(("raw", 5), TOLD, 64, ok)
    yield "id-41-as-id30-config", probe(1, TOLD, len(ok), ok)


# ---------------------------------------------------------------- stream

def stream(standard, ngpio, *steps, irq=True, rings=(8, 8)):
    proto = (1 if standard else 0) | (2 if irq else 0)
    return bytes([proto, ngpio - 1, *(r.bit_length() - 1 for r in rings)]) + b"".join(steps)


def req(line, op, value=0):
    return bytes([REQUEST, line, op, value])


def id30_ok(value=0, pick=0, rx_len=LEN_EXACT):
    """ID 30 device: take request @pick, answer it with @value, interrupt."""
    f = CALLBACK_NOW | ({0: 0, 1: 4}[value] if value in (0, 1) else 8)
    extra = bytes([-value - 1]) if value < 0 else b""
    return bytes([DEV_REPLY, pick, f, LEN_EXACT]) + extra + bytes([0, rx_len])


def id30_level(line, level):
    return bytes([DEV_EVENT, 0, CALLBACK_NOW | (level << 2), line, LEN_EXACT])


def std_ok(value=0, pick=0, status=0, length=LEN_EXACT):
    f = CALLBACK_NOW | status | (value << 2)
    return bytes([DEV_REPLY, pick, f, length])


def std_event(pick=0, invalid=False, length=LEN_EXACT):
    return bytes([DEV_EVENT, pick, CALLBACK_NOW | (1 if invalid else 0), length])


def stream_seeds():
    # 2020 protocol: every operation answered.
    yield "id30-every-op", stream(
        False, 4,
        req(0, OP_REQUEST), id30_ok(),
        req(0, OP_DIR_OUT, 1), id30_ok(),
        req(0, OP_SET, 0), id30_ok(0),
        req(1, OP_DIR_IN), id30_ok(),
        req(1, OP_GET), id30_ok(1),
        req(1, OP_GET_DIR), id30_ok(1),
        req(0, OP_FREE))
    yield "id30-device-errno", stream(False, 2, req(0, OP_GET), id30_ok(-22))
    yield "id30-timeout-late-reply-resync", stream(
        False, 2,
        req(0, OP_GET), bytes([WAIT_TIMEOUT]),
        req(0, OP_GET), id30_ok(1), id30_ok(0), id30_ok(1))
    yield "id30-eintr-then-reply", stream(
        False, 2, req(1, OP_SET, 1), bytes([WAIT_EINTR]), id30_ok(1),
        req(1, OP_SET, 1), id30_ok(1))
    yield "id30-watch-edges", stream(
        False, 3, bytes([WATCH, 2, T_BOTH]),
        id30_level(2, 1), id30_level(2, 0), id30_level(2, 0),
        bytes([MASK, 2, 1]), id30_level(2, 1), bytes([MASK, 2, 0]), id30_level(2, 0))
    yield "id30-event-bad-line", stream(False, 2, id30_level(5, 1), id30_level(1, 1))
    yield "id30-reply-short", stream(False, 2, req(0, OP_GET), id30_ok(1, rx_len=LEN_SHORT), bytes([WAIT_RETURN]))
    yield "id30-reply-4g", stream(False, 2, req(0, OP_GET), id30_ok(1, rx_len=LEN_4G), bytes([WAIT_RETURN]))
    yield "id30-rx-ring-broken", stream(False, 2, bytes([BAD_USED, 0]), req(0, OP_GET), id30_ok(1), bytes([WAIT_RETURN]))
    yield "id30-tx-ring-full", stream(
        False, 4, req(0, OP_GET), bytes([WAIT_TIMEOUT]), req(1, OP_GET), bytes([WAIT_TIMEOUT]),
        req(2, OP_GET), rings=(8, 2))
    yield "id30-nested-callers", stream(
        False, 4, req(0, OP_GET), req(1, OP_GET), id30_ok(1, pick=1), id30_ok(0))
    yield "id30-kill-while-waiting", stream(False, 2, req(0, OP_GET), bytes([KILL]), id30_ok(1), req(1, OP_GET))
    yield "id30-rx-ring-1", stream(False, 2, req(0, OP_GET), id30_ok(1), id30_level(0, 1), rings=(1, 8))
    yield "id30-256-lines", stream(False, 256, req(255, OP_GET), id30_ok(1), bytes([WATCH, 200, T_RISING]), id30_level(200, 1))

    # Standard protocol: every operation answered.
    yield "std-every-op", stream(
        True, 4,
        req(0, OP_REQUEST),
        req(0, OP_DIR_OUT, 1), std_ok(), std_ok(),
        req(0, OP_SET, 0), std_ok(),
        req(1, OP_DIR_IN), std_ok(),
        req(1, OP_GET), std_ok(1),
        req(1, OP_GET_DIR), std_ok(2),
        req(0, OP_FREE), std_ok())
    yield "std-error-status", stream(True, 2, req(0, OP_GET), std_ok(status=1))
    yield "std-bad-value", stream(True, 2, req(0, OP_GET), std_ok(value=2))
    yield "std-len-0", stream(True, 2, req(0, OP_GET), std_ok(1, length=LEN_ZERO))
    yield "std-len-4g", stream(True, 2, req(0, OP_GET), std_ok(1, length=LEN_4G))
    yield "std-timeout-late-reply", stream(
        True, 2, req(0, OP_GET), bytes([WAIT_TIMEOUT]), req(0, OP_GET), std_ok(1, pick=0), std_ok(0))
    yield "std-watch-fires", stream(
        True, 2, bytes([WATCH, 0, T_BOTH]), std_ok(), std_event(), std_event(),
        bytes([WATCH, 0, T_HIGH]), std_ok(), std_event(invalid=True), std_event())
    yield "std-watch-masked", stream(
        True, 2, bytes([WATCH, 0, T_RISING]), std_ok(), bytes([MASK, 0, 1]), std_event(),
        bytes([MASK, 0, 0]), std_event())
    yield "std-watch-disable", stream(
        True, 2, bytes([WATCH, 0, T_FALLING]), std_ok(), bytes([ENABLE, 0, 0, SYNC, 0]), std_ok(),
        std_event(), bytes([ENABLE, 0, 1, SYNC, 0]), std_ok())
    yield "std-no-irq-feature", stream(True, 2, bytes([WATCH, 0, T_BOTH, SET_TYPE, 1, T_HIGH]), irq=False)
    yield "std-eventq-broken", stream(True, 2, bytes([WATCH, 0, T_BOTH]), std_ok(), bytes([BAD_USED, 1]), std_event())
    yield "std-event-bad-len", stream(True, 2, bytes([WATCH, 0, T_BOTH]), std_ok(), std_event(length=LEN_4G))
    yield "std-requestq-full", stream(
        True, 4, req(0, OP_GET), bytes([WAIT_TIMEOUT]), req(1, OP_GET), rings=(2, 8))
    yield "std-nested-callers", stream(
        True, 4, req(0, OP_GET), req(1, OP_SET, 1), std_ok(pick=1), std_ok(1))
    yield "std-kill-while-waiting", stream(True, 2, req(0, OP_GET), bytes([KILL]), std_ok(1), req(1, OP_GET))
    yield "std-consume-unanswered", stream(
        True, 2, req(0, OP_GET), bytes([CONSUME, 0, 0, LEN_EXACT, CALLBACK, 0, WAIT_RETURN]))
    yield "std-256-lines", stream(True, 256, req(255, OP_GET), std_ok(1), bytes([WATCH, 200, T_LOW]), std_ok(), std_event())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "corpus")
    args = parser.parse_args()
    for harness, seeds in (("probe", probe_seeds()), ("stream", stream_seeds())):
        out = args.out / harness
        out.mkdir(parents=True, exist_ok=True)
        for old in out.iterdir():
            old.unlink()
        for name, data in seeds:
            digest = hashlib.sha1(data).hexdigest()[:8]
            (out / f"{name}-{digest}").write_bytes(data)


if __name__ == "__main__":
    main()
