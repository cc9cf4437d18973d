#!/usr/bin/env python3
"""Writes the seed corpora of bpfemu-fuzz-attr and bpfemu-fuzz-prog
(fuzz/corpus/<target>/seed). The bytes follow the decoders in attr_target.cc
and prog_target.cc: each seed is a valid, typical use (create a map and work
on it; load a program and test-run it) that the fuzzer mutates from."""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(16)


def write(target, name, data):
    out = os.path.join(HERE, "corpus", target, "seed")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes(data))


def rand(n):
    return [rng.randrange(256) for _ in range(n)]


# --- bpfemu-fuzz-attr: calls of [cmd, shape 1 (the command's template, no
# patches, full size, a valid attr)] and the template's bytes.
T = 1
MAP_TYPES = 14  # kMapTypes in attr_target.cc


def create(type_index, max_byte=3):
    return [0, T, type_index, max_byte]


def elem(cmd, fd=0, key=0):
    return [cmd, T, fd] + [key] + [0] * 15 + [0, 0]  # fd, 16 key bytes, zeroed value, flags 0


def map_life(type_index):
    return (create(type_index) + elem(2, key=1) + elem(2, key=2) + elem(1, key=1) + elem(4) + elem(3, key=1) +
            [15, T, 0, 3] +                          # info, info_len 80
            [6, T, 0, 0] + [7, T, 0] +               # pin at /sys/fs/bpf/p0, get it back
            [24, T, 0] + [0] * 64 + [4, 0] +         # lookup batch, count 4
            [22, T, 0] + elem(2, key=3))             # freeze, then a refused update


for t in range(MAP_TYPES):
    write("bpfemu-fuzz-attr", f"map-{t}", map_life(t))
# A program on an array: load (with the map), test-run, raw tracepoint, links.
prog = (create(1) + [5, T, 0, 2, 1, 0, 1] +        # fd 0, r0 = 2, with map, XDP, a log
        [10, T, 1, 64] + rand(64) + [1, 200, 1] +   # test run: 64 bytes in, 200 out, repeat 1
        [5, T, 0, 0, 0, 3, 0] + [17, T, 10, 2] +    # a raw tracepoint program, opened on sys_enter
        [28, T, 1, 0, 5] + [29, T, 3, 1, 0] + [34, T, 3] + [31, T, 1] + [32, T, 0] + [14, T, 1])
write("bpfemu-fuzz-attr", "prog-life", prog)
write("bpfemu-fuzz-attr", "btf-load", [18, T, 0, 1] + [18, T, 1, 5, 0, 0] + [19, T, 1] + [15, T, 0, 4] +
      [21, T, 0])
# The same calls with bad attr pointers and sizes (shape bits: size mode, pointer mode).
for i, shape in enumerate([0x81, 0x91, 0xc1, 0xe1, 0x71, 0x51]):
    write("bpfemu-fuzz-attr", f"bad-attr-{i}", create(1) + [1, shape, 0] + [0] * 18 + [3, 40] + [11, shape, 0, 2])

# --- bpfemu-fuzz-prog: [prog type, license, n - 1], instructions, [final
# exit?, runs], then each run's data and context choices.
R10 = 10


def mov_k(d, imm):
    return [1, 3, d, imm & 0xff]


def alu64(op_index, src_x, d, s, imm):
    return [1, 0, op_index, 1 if src_x else 0, d, s, 1, imm & 0xff]


def ld_map(map_index, how=0, dst=1):
    dst_bytes = [0] if dst == 1 else [1, dst]
    return [0] + dst_bytes + [how, map_index] + ([0] if how == 1 else [])


def st_w_fp8():
    return [1, 6, 0, 1, 2, 0, 0, 0]  # *(u32 *)(r10 - 8) = 0


def call(helper_index):
    return [1, 12, helper_index]


def jeq0(off):
    return [1, 9, 0, 0, 0, 0, 0, off, 0]


def ldx_dw(src):
    return [1, 4, 1, 1, src, 3, 0, 0]  # r0 = *(u64 *)(src + 0)


EXIT = [1, 14]
JA_BACK = [1, 11, 0xfe]  # goto -2: runs until the budget stops it

PROGRAMS = {
    "ret2": (2, mov_k(0, 2) + EXIT),
    "lookup": (9, ld_map(0) + alu64(11, True, 2, R10, 0) + alu64(0, False, 2, 0, -8) + st_w_fp8() + call(0) +
               jeq0(1) + ldx_dw(0) + EXIT),
    "update-hash": (9, ld_map(1) + alu64(11, True, 2, R10, 0) + alu64(0, False, 2, 0, -8) + st_w_fp8() +
                    alu64(11, True, 3, 2, 0) + mov_k(4, 0) + call(1) + EXIT),
    "tail-call": (6, mov_k(3, 0) + ld_map(2, dst=2) + call(8) + mov_k(0, 1) + EXIT),
    "runaway": (3, mov_k(0, 0) + JA_BACK + EXIT),
    "map-value": (4, ld_map(0, 1) + ldx_dw(1) + EXIT),
    "canary-store": (4, [0, 1, 0, 4, 0, 1] + [1, 6, 1, 0, 0, 3, 1, 0, 0] + EXIT),  # r0 = &canary + 16; *(u64 *)(r0 - 8) = r1
}
RUN = [0, 1, 50] + rand(64) + [1, 1, 0, 1, 1]  # one run: 64 bytes in, data_out, no ctx, repeat 1, flags


for t in range(8):  # kProgTypes
    for name, (n, insns) in PROGRAMS.items():
        write("bpfemu-fuzz-prog", f"{name}-{t}", [t, 0, n - 1] + insns + [0] + RUN)  # 0: no extra exit
