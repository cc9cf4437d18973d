#!/usr/bin/env python3
"""Writes the seed corpus (fuzz/corpus/seed): for every map type the fuzzer
knows, an input that creates a valid map of that type (plain, and read-only or
write-only) and then runs a fixed pseudo-random tail of operations. The bytes
follow fuzz_target.cc's decoding: op 0 is create, then the type index, value
size, max_entries, map_extra (BLOOM_FILTER only) and a variant byte (1: a valid
shape, 5: valid plus one extra create flag, whose index follows)."""
import os
import random

TYPES = ["hash", "array", "percpu_hash", "percpu_array", "lru_hash", "lru_percpu_hash", "lpm_trie", "queue",
         "stack", "bloom_filter"]
RDONLY_FLAG_INDEX, WRONLY_FLAG_INDEX = 1, 2  # positions in kExtraCreateFlags

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "seed")
os.makedirs(out, exist_ok=True)
rng = random.Random(16)
for index, name in enumerate(TYPES):
    for mode, variant in (("rw", [1]), ("ro", [5, RDONLY_FLAG_INDEX]), ("wo", [5, WRONLY_FLAG_INDEX])):
        create = [0, index, 1, 7] + ([3] if name == "bloom_filter" else []) + variant
        tail = [rng.randrange(256) for _ in range(96)]
        with open(os.path.join(out, f"{name}-{mode}"), "wb") as f:
            f.write(bytes(create + tail))
