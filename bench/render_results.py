#!/usr/bin/env python3
"""Renders bench/RESULTS.md from bpfemu-bench's JSON output (bench/run-full.sh).

Per-op cost of a benchmark = 1e9 / items_per_second: items are map operations,
and the harness times CPU time of the benchmark's threads (user + kernel), so
this is CPU ns per op. kernel_prog rows use kernel_ns_per_op instead: the
BPF_PROG_TEST_RUN duration / (repeat * ops per run). With repetitions, the
median repetition counts. Every ratio below is computed from the same run.
"""
import argparse
import collections
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile

SIZES = [1000, 100000, 1000000]
TYPES = ["HASH", "PERCPU_HASH", "LRU_HASH", "LRU_PERCPU_HASH", "ARRAY", "PERCPU_ARRAY", "LPM_TRIE"]
BACKENDS = ["emu", "emu_syscall", "emu_prog", "kernel", "kernel_prog", "boost_flat_map", "std_unordered_map", "std_vector"]
OPS = ["lookup", "lookup_random_keys", "update_existing", "update_existing_random_keys", "update_new", "delete",
       "lookup_and_delete", "update_evict", "get_next_key", "lookup_batch"]
# Key-less maps have rows of their own ops only (bench/suite_syscall.cc, push_pop).
QUEUE_TYPES = ["QUEUE", "STACK"]
QUEUE_OPS = ["push", "pop"]
# The key sets of the target checks: (op suffix, label suffix, summary wording).
# Random keys are measured on HASH only (bench/common.h, KeySet).
KEY_SETS = [("", "", "keys 0..n-1"), ("_random_keys", ", random keys", "random keys, HASH")]
NAME = re.compile(r"^(?P<op>[a-z_]+)/(?P<type>[A-Z_]+)/(?P<backend>[a-z_]+)/(?P<n>\d+)(?:/threads:(?P<t>\d+))?$")


def load(path):
    """{(op, type, backend, n, threads): {'ns': .., 'wall_mops': .., 'bytes': .., ...}}, skipped."""
    with open(path) as f:
        data = json.load(f)
    reps = collections.defaultdict(list)
    skipped = {}
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        m = NAME.match(b["name"])
        if not m:
            continue
        key = (m["op"], m["type"], m["backend"], int(m["n"]), int(m["t"] or 1))
        if b.get("error_occurred"):
            skipped[key] = b.get("error_message", "")
            continue
        row = {}
        if "bytes_per_elem" in b:
            row["bytes"] = b["bytes_per_elem"]
            row["payload"] = b.get("payload_bytes", 0)
        elif b.get("items_per_second"):
            row["ns"] = b.get("kernel_ns_per_op") or 1e9 / b["items_per_second"]
            # Wall-clock throughput of all threads together: ops per iteration
            # (= items_per_second * cpu_time) over wall time per iteration.
            ops_per_iter = b["items_per_second"] * b["cpu_time"] * 1e-9
            row["wall_mops"] = ops_per_iter * 1e3 / b["real_time"] if b.get("time_unit", "ns") == "ns" and b["real_time"] else None
            for c in ("miss_rate", "error_rate"):
                if c in b:
                    row[c] = b[c]
        reps[key].append(row)
    out = {}
    for key, rows in reps.items():
        merged = {}
        for field in rows[0]:
            vals = [r[field] for r in rows if r.get(field) is not None]
            merged[field] = statistics.median(vals) if vals else None
        out[key] = merged
    return data.get("context", {}), out, skipped


def fmt_ns(v):
    if v is None:
        return "-"
    if v >= 1000:
        return f"{v / 1000:.2f} µs"
    return f"{v:.1f}"


def fmt_ns_unit(v):
    """fmt_ns with its unit, for prose."""
    s = fmt_ns(v)
    return s if s.endswith("µs") or s == "-" else s + " ns"


def fmt_x(v):
    return "-" if v is None else (f"{v:.0f}x" if v >= 100 else f"{v:.1f}x" if v >= 10 else f"{v:.2f}x")


def size_label(n):
    return {1000: "1k", 100000: "100k", 1000000: "1M"}.get(n, str(n))


class Report:
    def __init__(self, res):
        self.res = res
        self.lines = []

    def ns(self, op, t, be, n, threads=1):
        r = self.res.get((op, t, be, n, threads))
        return r.get("ns") if r else None

    def add(self, *lines):
        self.lines.extend(lines)

    def table(self, header, rows):
        self.add("| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|")
        for r in rows:
            self.add("| " + " | ".join(str(c) for c in r) + " |")
        self.add("")


def ratio_rows(rep, pairs, want, better_when_high):
    """Rows of target checks. pairs: [(label, numerator, denominator)] of ns values."""
    rows, met, total = [], 0, 0
    for label, num, den in pairs:
        if num is None or den is None or den == 0:
            rows.append([label, fmt_ns(num), fmt_ns(den), "-", "not measured"])
            continue
        r = num / den
        ok = r >= want if better_when_high else r <= want
        met += ok
        total += 1
        rows.append([label, fmt_ns(num), fmt_ns(den), fmt_x(r), "met" if ok else "**missed**"])
    return rows, met, total


def machine_section(rep, ctx, machine, command):
    rep.add("## Machine and command", "")
    rep.add(f"- CPU: {machine.get('cpu_model', ctx.get('cpu_model', '?'))}, {machine.get('cpus', ctx.get('num_cpus'))} "
            f"cores (possible CPUs: {ctx.get('possible_cpus', '?')}), caches: " +
            ", ".join(f"L{c['level']} {c['type'].lower()} {c['size'] // 1024} KiB" for c in ctx.get("caches", [])))
    rep.add(f"- Memory: {machine.get('mem_total', '?')}; OS: {machine.get('os', '?')}; kernel {ctx.get('kernel_release', machine.get('kernel'))}")
    rep.add(f"- Compiler: {machine.get('compiler', '?')} (Release); BPF: {machine.get('clang_bpf', '?')}; "
            f"kernel backend: {ctx.get('kernel_backend', '?')}")
    rep.add(f"- Run: {machine.get('date', ctx.get('date'))}, commit {machine.get('git', '?')}; load average before "
            f"{machine.get('load_before', '?')}, after {machine.get('load_after', '?')} (other processes shared the "
            "machine; costs are CPU time per op, which their load does not inflate, but caches were shared)")
    lat = latency_ns(rep)
    if lat:
        rep.add("- One cache miss (a dependent random load, `dependent_load/MEMORY/pointer_chase/<bytes>`, CPU time): " +
                ", ".join(f"{b >> 20} MiB {fmt_ns_unit(v)}" if b >= 1 << 20 else f"{b >> 10} KiB {fmt_ns_unit(v)}"
                          for b, v in lat) +
                ". A map op that must wait out one miss costs at least that much.")
    rep.add(f"- Command: `{command}`", "")


LATENCY_BYTES = [32 << 10, 4 << 20, 32 << 20, 256 << 20]


def latency_ns(rep):
    return [(b, rep.ns("dependent_load", "MEMORY", "pointer_chase", b)) for b in LATENCY_BYTES
            if rep.ns("dependent_load", "MEMORY", "pointer_chase", b) is not None]


def summary_count(counts):
    """'3 of 4 cases (keys 0..n-1); 1 of 2 (random keys, HASH)' from [(met, total, wording)]."""
    parts = [f"{met} of {total} cases ({wording})" for met, total, wording in counts if total]
    return "; ".join(parts) if parts else "not measured"


def checked_by_key_set(rep, pairs_for, want, better_when_high):
    """ratio_rows over every key set: pairs_for(suffix, label) gives that set's pairs."""
    rows, counts = [], []
    for suffix, label, wording in KEY_SETS:
        r, met, total = ratio_rows(rep, pairs_for(suffix, label), want, better_when_high)
        rows += r
        counts.append((met, total, wording))
    return rows, counts


def targets_section(rep):
    rep.add("## Targets (ratios measured in this run)", "",
            "Every row but the random-key ones uses keys 0..n-1, walked with a stride near 0.618 n (the same "
            "sequence on every backend and in bench_ops.bpf.c): a common case (indices, ports, pids), and one "
            "that a multiplicative hash -- the emulator's, and boost's post-mix on small keys -- spreads evenly "
            "and visits in a regular order. The `, random keys` rows (HASH only) look up the same indices through "
            "a bijection that makes them look random (bench/common.h, `scatter`), as addresses or hashes would be; "
            "they cost more on every backend that does not spend a syscall per op, boost's table included.", "")
    summary = []

    def syscall_pairs(suffix, label):
        pairs = []
        for t in ["HASH", "ARRAY"]:
            if suffix and t != "HASH":
                continue
            for op in ["lookup", "update_existing"]:
                for n in SIZES:
                    pairs.append((f"{op} {t} {size_label(n)}{label}", rep.ns(op + suffix, t, "kernel", n),
                                  rep.ns(op + suffix, t, "emu", n)))
        return pairs
    rows, counts = checked_by_key_set(rep, syscall_pairs, 20, True)
    rep.add("### 1. Emulator syscall-style API ≥ 20x faster than the kernel syscall path", "")
    rep.table(["op / map / entries", "kernel ns/op", "emu ns/op", "kernel ÷ emu", "target ≥ 20x"], rows)
    sys_pairs = [(f"{op} {t} {size_label(n)}", rep.ns(op, t, "kernel", n), rep.ns(op, t, "emu_syscall", n))
                 for t in ["HASH", "ARRAY"] for op in ["lookup", "update_existing"] for n in SIZES]
    if any(p[2] is not None for p in sys_pairs):
        sys_rows, _, _ = ratio_rows(rep, sys_pairs, 1, True)
        rep.add("Through the emulated bpf(2) itself (`emu_syscall`: a zeroed union bpf_attr filled as libbpf's "
                "bpf_map_lookup_elem/_update_elem fill it, then the syscall layer's copy, CHECK_ATTR and "
                "dispatch), against the kernel's bpf(2). No target; the column says whether it beats the kernel.", "")
        rep.table(["op / map / entries", "kernel ns/op", "emu_syscall ns/op", "kernel ÷ emu_syscall",
                   "faster than the kernel"], sys_rows)
    miss_1m = rep.ns("dependent_load", "MEMORY", "pointer_chase", 32 << 20)
    mem_1m = rep.res.get(("memory", "HASH", "emu", 1000000, 1))
    if miss_1m is not None:
        budgets = [(op, rep.ns(op, "HASH", "kernel", 1000000)) for op in ["lookup", "update_existing"]]
        span = (f"about {mem_1m['bytes'] * 1e6 / (1 << 20):.0f} MiB" if mem_1m and mem_1m.get("bytes")
                else "tens of MiB")
        rep.add(f"At 1M entries the emulator's HASH table spans {span}, where one cache miss costs "
                f"{fmt_ns_unit(miss_1m)} on this machine (a dependent load at 32 MiB, see above), against 20x budgets "
                "of " + ", ".join(f"{fmt_ns_unit(k / 20)} for {op}" for op, k in budgets if k) +
                ": a call meets them only by overlapping its miss with those of the calls after it. A lookup "
                "overlaps several; an update's compare-and-swap is a locked instruction, which gives up much of "
                "that overlap.", "")
    summary.append(("emu syscall-style ≥ 20x faster than kernel syscalls (HASH, ARRAY; lookup, update)", counts))

    def flat_pairs(suffix, label):
        pairs = []
        for be, what in [("emu", "emu, syscall-style"), ("emu_prog", "emu_prog, pointer API")]:
            for n in SIZES:
                pairs.append((f"lookup HASH {size_label(n)}{label} ({what})", rep.ns("lookup" + suffix, "HASH", be, n),
                              rep.ns("lookup" + suffix, "HASH", "boost_flat_map", n)))
        return pairs
    rows, counts = checked_by_key_set(rep, flat_pairs, 2, False)
    rep.add("### 2. Emulator HASH lookup within 2x of a flat hash map (boost::unordered_flat_map)", "")
    rep.table(["case", "emulator ns/op", "flat map ns/op", "emu ÷ flat", "target ≤ 2x"], rows)
    summary.append(("HASH lookup within 2x of boost::unordered_flat_map", counts))

    def prog_pairs(suffix, label):
        pairs = []
        for op in ["lookup", "update_existing"]:
            for t in TYPES:
                if suffix and t != "HASH":
                    continue
                for n in SIZES:
                    pairs.append((f"{op} {t} {size_label(n)}{label}", rep.ns(op + suffix, t, "emu_prog", n),
                                  rep.ns(op + suffix, t, "kernel_prog", n)))
        return pairs
    rows, counts = checked_by_key_set(rep, prog_pairs, 2, False)
    rep.add("### 3. Program-side ops within 2x of the in-kernel per-op cost", "",
            "`emu_prog` = bpfemu::prog::MapRef (native code), `kernel_prog` = the same loop in an XDP program "
            "(bench/bpf/bench_ops.bpf.c) run with BPF_PROG_TEST_RUN, repeat 100 × 256 ops; per-op = duration / ops.", "")
    rep.table(["op / map / entries", "emu_prog ns/op", "kernel_prog ns/op", "emu ÷ kernel", "target ≤ 2x"], rows)
    summary.append(("program-side lookup/update within 2x of in-kernel", counts))

    rows, met, total = [], 0, 0
    for t in TYPES:
        for n in SIZES:
            e = rep.res.get(("memory", t, "emu", n, 1))
            k = rep.res.get(("memory", t, "kernel", n, 1))
            if not e or not k or not k.get("bytes"):
                rows.append([f"{t} {size_label(n)}", "-", "-", "-", "-", "not measured"])
                continue
            r = e["bytes"] / k["bytes"]
            ok = r <= 1.5
            met += ok
            total += 1
            rows.append([f"{t} {size_label(n)}", f"{e['payload']:.0f}", f"{k['bytes']:.1f}", f"{e['bytes']:.1f}",
                         fmt_x(r), "met" if ok else "**missed**"])
    rep.add("### 4. Memory per element within 1.5x of key + value + the kernel's per-element overhead", "",
            "Full maps (entries = max_entries, all filled). Kernel: `memlock` of the map's fdinfo (the kernel's own "
            "accounting, which is key + value + its per-element overhead + buckets), ÷ entries. Emulator: allocated "
            "blocks of the map's sparse region file (fstat st_blocks of the map fd) minus the header page, ÷ entries. "
            "payload = key + syscall-side value.", "")
    rep.table(["map / entries", "payload B", "kernel B/elem", "emu B/elem", "emu ÷ kernel", "target ≤ 1.5x"], rows)
    summary.append(("memory per element within 1.5x of the kernel's", [(met, total, "full maps")]))

    rep.lines[rep.summary_at:rep.summary_at] = (
        ["## Summary", "", "| target | met |", "|---|---|"] +
        [f"| {name} | {summary_count(counts)} |" for name, counts in summary] + [""])


def cost_section(rep):
    rep.add("## Cost per op by entries (CPU ns/op, median of repetitions)", "",
            "Columns are map sizes: each row shows how the cost grows with entries. "
            "`emu` = EmuBackend (syscall-style), `kernel` = real bpf(2) via libbpf, `emu_prog`/`kernel_prog` = "
            "program side, references = plain containers.", "")
    for op, types in [(op, TYPES) for op in OPS] + [(op, QUEUE_TYPES) for op in QUEUE_OPS]:
        rows = []
        for t in types:
            for be in BACKENDS:
                vals = [rep.ns(op, t, be, n) for n in SIZES]
                if all(v is None for v in vals):
                    continue
                extra = ""
                miss = [rep.res.get((op, t, be, n, 1), {}).get("miss_rate") for n in SIZES]
                if any(m for m in miss if m):
                    extra = "miss " + "/".join("-" if m is None else f"{100 * m:.1f}%" for m in miss)
                rows.append([t, be] + [fmt_ns(v) for v in vals] + [extra])
        if rows:
            rep.add(f"### {op}", "")
            rep.table(["map", "backend"] + [size_label(n) for n in SIZES] + ["notes"], rows)


def threads_section(rep, cpus):
    rep.add(f"## Scaling with threads (1 vs {cpus})", "",
            "CPU ns/op = CPU time of all threads per op: with threads that truly run in parallel, throughput is "
            "threads × 1000 / (CPU ns/op) Mops/s, and `cost N ÷ 1` above 1 is the price of contention (cache-line "
            "bouncing, lock spinning). Wall Mops/s = ops per wall-clock second of all threads together, as measured; "
            "it depends on what else the machine ran (see the load average above), and for `kernel_prog` it also "
            "includes the time BPF_PROG_TEST_RUN yields the CPU between repeats.", "")
    rows = []
    for op in ["lookup", "update_existing"]:
        for t in TYPES:
            for be in ["emu", "emu_prog", "kernel", "kernel_prog"]:
                for n in SIZES:
                    one = rep.res.get((op, t, be, n, 1))
                    many = rep.res.get((op, t, be, n, cpus))
                    if not one or not many:
                        continue
                    w1, wn = one.get("wall_mops"), many.get("wall_mops")
                    rows.append([op, t, be, size_label(n), fmt_ns(one.get("ns")), fmt_ns(many.get("ns")),
                                 "-" if not one.get("ns") or not many.get("ns") else f"{many['ns'] / one['ns']:.2f}x",
                                 "-" if w1 is None else f"{w1:.1f}", "-" if wn is None else f"{wn:.1f}"])
    rep.table(["op", "map", "backend", "entries", "CPU ns/op, 1 thread", f"CPU ns/op, {cpus} threads",
               f"cost {cpus} ÷ 1", "wall Mops/s, 1", f"wall Mops/s, {cpus}"], rows)


def memory_section(rep):
    rep.add("## Memory per element (bytes, full map)", "")
    rows = []
    for t in TYPES:
        for be in ["emu", "kernel", "boost_flat_map", "std_unordered_map"]:
            vals = [rep.res.get(("memory", t, be, n, 1), {}).get("bytes") for n in SIZES]
            if all(v is None for v in vals):
                continue
            rows.append([t, be] + ["-" if v is None else f"{v:.1f}" for v in vals])
    rep.table(["map", "backend"] + [size_label(n) for n in SIZES], rows)


def scaling_chart(rep, charts_dir):
    """SVG: HASH lookup cost vs entries for every backend (gnuplot)."""
    if not charts_dir or not shutil.which("gnuplot"):
        return None
    series = [("emu", "emulator, syscall-style"), ("emu_prog", "emulator, program side"), ("kernel", "kernel syscall"),
              ("kernel_prog", "kernel, in program"), ("boost_flat_map", "boost::unordered_flat_map"),
              ("std_unordered_map", "std::unordered_map")]
    path = os.path.join(charts_dir, "scaling-lookup-hash.svg")
    with tempfile.TemporaryDirectory() as tmp:
        plots = []
        for be, title in series:
            pts = [(n, rep.ns("lookup", "HASH", be, n)) for n in SIZES]
            pts = [(n, v) for n, v in pts if v]
            if not pts:
                continue
            f = os.path.join(tmp, be + ".dat")
            with open(f, "w") as out:
                out.writelines(f"{n} {v}\n" for n, v in pts)
            plots.append(f"'{f}' using 1:2 with linespoints lw 2 pt 7 title '{title}'")
        if not plots:
            return None
        script = os.path.join(tmp, "plot.gp")
        with open(script, "w") as g:
            g.write("set terminal svg size 800,480 dynamic background rgb 'white' font 'sans,11'\n"
                    f"set output '{path}'\nset termoption noenhanced\nset logscale xy\nset grid\n"
                    "set xlabel 'entries'\nset ylabel 'ns per lookup (CPU time)'\nset key outside right\n"
                    "set xtics ('1k' 1000, '100k' 100000, '1M' 1000000)\n"
                    "set title 'HASH lookup cost vs map size'\nplot " + ", ".join(plots) + "\n")
        subprocess.run(["gnuplot", script], check=True)
    return path


def advise_section(rep, advise_dir, charts_dir, out_path):
    files = sorted(f for f in os.listdir(advise_dir) if f.startswith("advise-") and f.endswith(".txt")) if advise_dir else []
    if not files:
        return
    rep.add("## Workload advisor on the example workloads", "",
            "`bpfemu-advise examples/workloads/<name>.spec` (emulator and kernel, program side):", "")
    for f in files:
        name = f[len("advise-"):-len(".txt")]
        with open(os.path.join(advise_dir, f)) as fh:
            text = "\n".join(l for l in fh.read().strip().splitlines() if not l.startswith("Chart:"))
        rep.add(f"### {name}", "", "```", text, "```", "")
        svg = os.path.join(charts_dir, f"advise-{name}.svg") if charts_dir else None
        if svg and os.path.exists(svg):
            rep.add(f"![{name}]({os.path.relpath(svg, os.path.dirname(out_path))})", "")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", required=True, help="bpfemu-bench --benchmark_out JSON")
    ap.add_argument("--machine", help="key=value machine description (run-full.sh writes it)")
    ap.add_argument("--advise-dir", help="directory with advise-<name>.txt outputs")
    ap.add_argument("--charts", help="directory for charts (scaling SVG; advisor SVGs are read from here)")
    ap.add_argument("--command", default="bench/run-full.sh", help="the command that produced the data")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    ctx, res, skipped = load(args.json)
    machine = {}
    if args.machine:
        with open(args.machine) as f:
            machine = dict(l.rstrip("\n").split("=", 1) for l in f if "=" in l)
    cpus = int(ctx.get("possible_cpus", ctx.get("num_cpus", 2)))

    rep = Report(res)
    rep.add("# bpfemu benchmark results", "",
            "Generated by `bench/run-full.sh` → `bench/render_results.py` from one run of `bpfemu-bench` "
            "(Google Benchmark JSON). Do not edit by hand: rerun the command.", "")
    machine_section(rep, ctx, machine, args.command)
    rep.add("Per-op cost is CPU ns per operation of the benchmark threads (user + kernel time: bpf(2) time counts), "
            "median of the repetitions, which ran interleaved at random with every other benchmark's (so that "
            "a slow spell of a shared machine spreads over all rows rather than hitting a few); `kernel_prog` rows use the kernel-measured BPF_PROG_TEST_RUN duration per op.", "")
    rep.summary_at = len(rep.lines)
    targets_section(rep)
    chart = scaling_chart(rep, args.charts)
    cost_section(rep)
    if chart:
        rep.add(f"![HASH lookup vs entries]({os.path.relpath(chart, os.path.dirname(args.out))})", "")
    threads_section(rep, cpus)
    memory_section(rep)
    advise_section(rep, args.advise_dir, args.charts, args.out)
    if skipped:
        rep.add("## Skipped benchmarks", "")
        reasons = collections.Counter(skipped.values())
        for why, count in reasons.most_common():
            rep.add(f"- {count} × {why}")
        rep.add("")
    with open(args.out, "w") as f:
        f.write("\n".join(rep.lines).rstrip() + "\n")


if __name__ == "__main__":
    main()
