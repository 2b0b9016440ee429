#!/usr/bin/env python3
"""Turn the ZS-BENCH lines of a bench guest console into Markdown tables and SVG charts.

Usage: bench-report.py CONSOLE_LOG OUT_DIR
Writes OUT_DIR/results.md, OUT_DIR/micro-ratios.svg and OUT_DIR/zswap-density.svg; prints the
tables. Everything is relative to upstream zsmalloc measured in the same boot.

Microbenchmark (bench/, `ZS-BENCH micro ...`): for each metric, the ratio rust_zsmalloc /
zsmalloc is taken per round (the two ran back to back in that round, on the same trace, in ABBA
order over the rounds), and min/median/max over the rounds are reported, then every round's
ratio and raw values. Density = stored bytes / (pool pages + slab growth + per-CPU buffers),
before the RCU grace period ("now") and after it; throughput = operations per second; latency =
p50/p99/mean of sampled operations in ns (lower is better, so a ratio below 1 favours rust_zsmalloc).

zswap end to end (`ZS-BENCH zswap ...`): density = stored_pages x 4096 / pool_bytes
(uncompressed bytes held per byte of pool memory; compression is the same for every backend, so
the ratio compares the allocators), time = wall time of the same workload without its fixed
hold; ratios to the median of zsmalloc's rounds, and rust_zsmalloc's time set against the
spread of zsmalloc's own rounds.
"""
import re
import statistics
import sys
from collections import defaultdict

ZSWAP = re.compile(r"ZS-BENCH zswap (backend=.*)")
MICRO = re.compile(r"ZS-BENCH micro alloc=(\S+) round=(\d+) metric=(\S+) value=([\d.]+)(.*)")
ORDER_LINE = re.compile(r"ZS-BENCH micro round=(\d+) order=(\S+)")
TRACE = re.compile(r"ZS-BENCH micro trace (.*)")
CACHE = re.compile(r"ZS-BENCH micro alloc=(\S+) round=(\d+) cache=(\S+) name=(\S+) aliases=(\d+)")
GUEST_CPU = re.compile(r"Command line: .*\bzs\.guest_cpu=(\S+)")
CHAIN = re.compile(r"zsmalloc_rs: loaded: .* zspages of up to (\d+) pages")
BACKENDS = ["rust_zsmalloc", "zsmalloc", "zbud", "z3fold"]
OURS, THEIRS = "rust_zsmalloc", "zsmalloc"
DENSITY_STATES = [
    ("density_full", "trace stored"),
    ("density_half", "random half freed"),
    ("density_compacted", "half freed + compacted"),
]
MICRO_METRICS = []
for _metric, _label in DENSITY_STATES:
    MICRO_METRICS.append((_metric + "_now", f"density, {_label}, before grace period", "higher is better"))
    MICRO_METRICS.append((_metric, f"density, {_label}, after grace period", "higher is better"))
MICRO_METRICS += [
    ("malloc_write_free_t1", "malloc+write+free ops/s, 1 thread", "higher is better"),
    ("malloc_write_free_t2", "malloc+write+free ops/s, 2 threads", "higher is better"),
    ("malloc_write_free_t4", "malloc+write+free ops/s, 4 threads", "higher is better"),
    ("map_read_unmap_t1", "map+read+unmap ops/s, 1 thread", "higher is better"),
    ("map_read_unmap_t2", "map+read+unmap ops/s, 2 threads", "higher is better"),
    ("map_read_unmap_t4", "map+read+unmap ops/s, 4 threads", "higher is better"),
]
LATENCY_PARTS = [
    ("malloc", "malloc", "malloc_write_free"),
    ("free", "free", "malloc_write_free"),
    ("map_write_unmap", "map WO + write + unmap", "malloc_write_free"),
    ("map_read_unmap", "map RO + read + unmap", "map_read_unmap"),
]
THREADS = [1, 2, 4]
# A console of a bench from before the mean was printed has no mean lines: "—" in its cells.
LATENCY_STATS = ("p50", "p99", "mean")
MEMORY_FIELDS = ["pool_pages", "slab_pages", "zspage_cache_pages", "handle_cache_pages", "grace_released_pages"]


def fmt(x):
    return f"{x:.4f}" if x < 10 else f"{x:,.0f}"


def fields(text):
    return dict(kv.split("=", 1) for kv in text.split() if "=" in kv)


def ratio_stats(values, metric):
    """Per-round ratios ours/theirs of `metric`: (rounds, ratios) over the rounds both have."""
    ours, theirs = values.get((OURS, metric), {}), values.get((THEIRS, metric), {})
    rounds = sorted(r for r in set(ours) & set(theirs) if theirs[r] > 0)
    return rounds, [ours[r] / theirs[r] for r in rounds]


def spread(ratios):
    return f"{min(ratios):.3f}, **{statistics.median(ratios):.3f}**, {max(ratios):.3f}"


def micro_section(log_lines):
    """The microbenchmark tables, and the (label, min, median, max) ratios for the chart."""
    values = defaultdict(dict)  # (alloc, metric) -> {round: value}
    details = defaultdict(dict)  # (alloc, metric) -> {round: {field: value}}
    orders = {}
    caches = {}  # (alloc, kind) -> (name, aliases), first round seen
    trace = None
    for line in log_lines:
        c = CACHE.search(line)
        if c:
            caches.setdefault((c.group(1), c.group(3)), (c.group(4), int(c.group(5))))
            continue
        m = MICRO.search(line)
        if m:
            values[(m.group(1), m.group(3))][int(m.group(2))] = float(m.group(4))
            details[(m.group(1), m.group(3))][int(m.group(2))] = fields(m.group(5))
            continue
        o = ORDER_LINE.search(line)
        if o:
            orders[int(o.group(1))] = o.group(2).split(",")
            continue
        t = TRACE.search(line)
        if t:
            trace = t.group(1).strip()
    if not values:
        return None, []
    all_rounds = sorted({r for series in values.values() for r in series})
    first = {r: orders[r][0] for r in orders}
    text = "## Microbenchmark: rust_zsmalloc vs zsmalloc (one boot, same trace, ABBA order)\n\n"
    if trace:
        text += f"Trace: {trace}\n\n"
    if first:
        counts = {a: sum(1 for r in first if first[r] == a) for a in (OURS, THEIRS)}
        text += ("Order: " + " ".join(f"r{r}:{'R' if first[r] == OURS else 'Z'}-first" for r in sorted(first))
                 + f" (rust_zsmalloc first {counts[OURS]}x, zsmalloc first {counts[THEIRS]}x)\n\n")

    rows = ["| metric | rust_zsmalloc (median) | zsmalloc (median) | ratio rust/zsmalloc: min, **median**, max | rounds |",
            "|---|---|---|---|---|"]
    chart = []
    for metric, label, note in MICRO_METRICS:
        rounds, ratios = ratio_stats(values, metric)
        if not ratios:
            continue
        ours, theirs = values[(OURS, metric)], values[(THEIRS, metric)]
        rows.append(f"| {label} ({note}) | {fmt(statistics.median(ours[r] for r in rounds))} "
                    f"| {fmt(statistics.median(theirs[r] for r in rounds))} | {spread(ratios)} | {len(rounds)} |")
        chart.append((label, min(ratios), statistics.median(ratios), max(ratios)))
    text += "\n".join(rows) + "\n"

    # Latency percentiles.
    rows = ["| operation (during) | threads | p50 ns rust / zsmalloc (medians) | p50 ratio: min, **median**, max "
            "| p99 ns rust / zsmalloc (medians) | p99 ratio: min, **median**, max "
            "| mean ns rust / zsmalloc (medians) | mean ratio: min, **median**, max | samples (rust, round 1) |",
            "|---|---|---|---|---|---|---|---|---|"]
    any_latency = False
    for part, label, during in LATENCY_PARTS:
        for t in THREADS:
            cells = []
            for stat in LATENCY_STATS:
                metric = f"lat_{part}_{stat}_t{t}"
                rounds, ratios = ratio_stats(values, metric)
                if not ratios and stat == "mean":
                    cells += ["—", "—"]
                    continue
                if not ratios:
                    cells = None
                    break
                ours, theirs = values[(OURS, metric)], values[(THEIRS, metric)]
                cells.append(f"{statistics.median(ours[r] for r in rounds):,.0f} / {statistics.median(theirs[r] for r in rounds):,.0f}")
                cells.append(spread(ratios))
            if cells is None:
                continue
            any_latency = True
            samples = details[(OURS, f"lat_{part}_p50_t{t}")].get(1, {}).get("samples", "")
            rows.append(f"| {label} ({during}) | {t} | " + " | ".join(cells) + f" | {samples} |")
    if any_latency:
        text += ("\nPer-operation latency (every 16th operation timed part by part with the same code for both "
                 "allocators; ns under TCG; lower is better, so a ratio below 1 favours rust_zsmalloc)\n\n")
        text += "\n".join(rows) + "\n"

    # Where the memory goes, per cache.
    text += ("\nMemory behind the density figures, medians over rounds, in pages: pool pages; slab growth in total "
             "(unreclaimable slab since before the pool); growth of the zspage and handle slab caches "
             "(`/sys/kernel/slab/<cache>/slabs` << order; rust_zsmalloc: `rust_zsmalloc_zspage`, `rust_zsmalloc_handle`; "
             "zsmalloc: `zspage-<pool>`, `zs_handle-<pool>`; a cache merged into another counts the cache it shares); "
             "pages the RCU grace period gave back (before-minus-after free pages)\n\n")
    if caches:
        text += "Caches: " + "; ".join(
            f"{alloc} {kind} `{name}` ({'not merged' if aliases == 0 else f'shares its slabs with {aliases} other cache name(s): growth includes theirs'})"
            for (alloc, kind), (name, aliases) in sorted(caches.items())) + "\n\n"
    text += "| state | allocator | " + " | ".join(MEMORY_FIELDS) + " |\n|---|---|" + "---|" * len(MEMORY_FIELDS) + "\n"
    for metric, label in DENSITY_STATES:
        for suffix, when in (("_now", "before grace period"), ("", "after grace period")):
            for alloc in (OURS, THEIRS):
                per_round = details.get((alloc, metric + suffix), {})
                if not per_round:
                    continue
                cells = []
                for field in MEMORY_FIELDS:
                    vals = [int(d[field]) for d in per_round.values() if field in d]
                    cells.append(f"{statistics.median(vals):g}" if vals else "")
                text += f"| {label}, {when} | {alloc} | " + " | ".join(cells) + " |\n"

    # Raw rounds.
    text += "\nRaw rounds: ratio rust/zsmalloc per round (R = rust_zsmalloc ran first, Z = zsmalloc)\n\n"
    text += ("| metric | " + " | ".join(f"r{r} ({'R' if first.get(r) == OURS else 'Z' if first.get(r) else '?'})" for r in all_rounds)
             + " |\n|---|" + "---|" * len(all_rounds) + "\n")
    raw_metrics = [m for m, _, _ in MICRO_METRICS] + [f"lat_{p}_{stat}_t{t}" for p, _, _ in LATENCY_PARTS for t in THREADS for stat in LATENCY_STATS]
    raw_values = []
    for metric in raw_metrics:
        ours, theirs = values.get((OURS, metric), {}), values.get((THEIRS, metric), {})
        if not ours or not theirs:
            continue
        text += f"| {metric} | " + " | ".join(
            f"{ours[r] / theirs[r]:.3f}" if r in ours and r in theirs and theirs[r] > 0 else "" for r in all_rounds) + " |\n"
        raw_values.append(f"| {metric} | " + " | ".join(
            f"{fmt(ours[r]) if r in ours else ''} / {fmt(theirs[r]) if r in theirs else ''}" for r in all_rounds) + " |")
    text += ("\n<details><summary>Raw values per round (rust_zsmalloc / zsmalloc)</summary>\n\n| metric | "
             + " | ".join(f"r{r}" for r in all_rounds) + " |\n|---|" + "---|" * len(all_rounds) + "\n"
             + "\n".join(raw_values) + "\n\n</details>\n")
    return text, chart


def micro_svg(chart):
    """Horizontal bars of the median ratio with a min..max whisker; the red line is 1.0."""
    scale, left, top, step = 300, 360, 24, 26
    height = top + step * len(chart) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + scale * 1.6:.0f}" height="{height}" font-family="sans-serif">',
             '<text x="5" y="14" font-size="12">rust_zsmalloc / zsmalloc (median bar, min-max whisker; 1.0 = equal, right is better)</text>']
    for i, (label, lo, med, hi) in enumerate(chart):
        y = top + i * step
        parts.append(f'<text x="5" y="{y + 13}" font-size="12">{label}</text>')
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{scale * min(med, 1.5):.1f}" height="14" fill="#4a7"/>')
        parts.append(f'<line x1="{left + scale * min(lo, 1.5):.1f}" y1="{y + 9}" x2="{left + scale * min(hi, 1.5):.1f}" y2="{y + 9}" stroke="#222"/>')
        parts.append(f'<text x="{left + scale * min(hi, 1.5) + 6:.1f}" y="{y + 13}" font-size="12">{med:.3f}</text>')
    parts.append(f'<line x1="{left + scale}" y1="{top - 4}" x2="{left + scale}" y2="{height - 4}" stroke="#a33"/>')
    parts.append("</svg>")
    return "".join(parts)


def zswap_section(log_lines):
    runs = defaultdict(list)
    for line in log_lines:
        m = ZSWAP.search(line)
        if not m:
            continue
        f = fields(m.group(1))
        if int(f.get("pool_bytes", 0)) <= 0:
            continue
        runs[f["backend"]].append({
            "round": int(f["round"]),
            "position": f.get("position", "?"),
            "secs": float(f["secs"]),
            "total": f.get("total_secs", f["secs"]),
            "stored": int(f["stored_pages"]),
            "pool": int(f["pool_bytes"]),
            "density": int(f["stored_pages"]) * 4096 / int(f["pool_bytes"]),
        })
    if THEIRS not in runs:
        return None, {}
    ref_d = statistics.median(r["density"] for r in runs[THEIRS])
    ref_t = statistics.median(r["secs"] for r in runs[THEIRS])
    ref_lo, ref_hi = min(r["secs"] for r in runs[THEIRS]), max(r["secs"] for r in runs[THEIRS])
    rows = ["| backend | rounds | density (median) | density / zsmalloc (min, **median**, max) | time s without hold: min, **median**, max "
            "| time / zsmalloc median (min, **median**, max) |",
            "|---|---|---|---|---|---|"]
    medians = {}
    for b in [b for b in BACKENDS if b in runs]:
        d = [r["density"] for r in runs[b]]
        t = [r["secs"] for r in runs[b]]
        medians[b] = statistics.median(d) / ref_d
        rows.append(f"| {b} | {len(d)} | {statistics.median(d):.3f} | {min(d)/ref_d:.3f}, **{statistics.median(d)/ref_d:.3f}**, {max(d)/ref_d:.3f} "
                    f"| {min(t):.2f}, **{statistics.median(t):.2f}**, {max(t):.2f} | {min(t)/ref_t:.3f}, **{statistics.median(t)/ref_t:.3f}**, {max(t)/ref_t:.3f} |")
    text = ("## zswap end to end (one boot, backend order rotated every round)\n\n"
            "Time: the workload's wall time minus its fixed hold (fill, pageout, read back, verify).\n\n"
            + "\n".join(rows) + "\n")
    if OURS in runs:
        ours_t = statistics.median(r["secs"] for r in runs[OURS])
        inside = ref_lo <= ours_t <= ref_hi
        text += (f"\nrust_zsmalloc's median time {ours_t:.2f} s is {'within' if inside else 'outside'} the spread of "
                 f"zsmalloc's own rounds ({ref_lo:.2f}..{ref_hi:.2f} s).\n")
        by_round = {r["round"]: r for r in runs[OURS]}
        per_round = [by_round[r["round"]]["secs"] / r["secs"] for r in runs[THEIRS] if r["round"] in by_round and r["secs"] > 0]
        if per_round:
            text += f"Time rust_zsmalloc / zsmalloc within each round: {spread(per_round)} (min, median, max).\n"
    all_rounds = sorted({r["round"] for rs in runs.values() for r in rs})
    text += ("\nRaw runs: position in the round's order, time without hold s (total s), stored_pages / pool bytes\n\n"
             "| round | " + " | ".join(b for b in BACKENDS if b in runs) + " |\n|---|" + "---|" * len([b for b in BACKENDS if b in runs]) + "\n")
    for rnd in all_rounds:
        cells = []
        for b in [b for b in BACKENDS if b in runs]:
            r = next((r for r in runs[b] if r["round"] == rnd), None)
            cells.append(f"#{r['position']}: {r['secs']:.2f} ({r['total']}), {r['stored']} / {r['pool']}" if r else "")
        text += f"| {rnd} | " + " | ".join(cells) + " |\n"
    return text, medians


def zswap_svg(medians):
    bars = []
    for i, (b, ratio) in enumerate(medians.items()):
        w = int(300 * ratio)
        bars.append(f'<text x="5" y="{30 + i * 30}" font-size="14">{b}</text>'
                    f'<rect x="130" y="{17 + i * 30}" width="{w}" height="18" fill="#4a7"/>'
                    f'<text x="{135 + w}" y="{30 + i * 30}" font-size="14">{ratio:.3f}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="560" height="{40 + 30 * len(medians)}">'
            '<text x="5" y="12" font-size="12">zswap density relative to zsmalloc (median)</text>'
            + "".join(bars) + '<line x1="430" y1="14" x2="430" y2="200" stroke="#a33"/></svg>')


def main():
    log, out = sys.argv[1], sys.argv[2]
    with open(log, errors="replace") as f:
        lines = f.readlines()
    sections = []
    micro, chart = micro_section(lines)
    if micro:
        sections.append(micro)
        with open(f"{out}/micro-ratios.svg", "w") as f:
            f.write(micro_svg(chart))
    zswap, medians = zswap_section(lines)
    if zswap:
        sections.append(zswap)
        with open(f"{out}/zswap-density.svg", "w") as f:
            f.write(zswap_svg(medians))
    if not sections:
        sys.exit("no ZS-BENCH results in the log: nothing to report")
    text = "\n".join(sections)
    chains = sorted({m.group(1) for line in lines if (m := CHAIN.search(line))}, key=int)
    if chains:
        text = (f"rust_zsmalloc chain_pages: {', '.join(chains)} "
                "(upstream zsmalloc: its compiled 8)\n\n") + text
    # The CPU the guest ran on, from its own command line (run-guest.sh writes it there).
    cpu = next((m.group(1) for line in lines if (m := GUEST_CPU.search(line))), None)
    if cpu:
        text = f"Guest CPU (QEMU -cpu): {cpu}\n\n" + text
    with open(f"{out}/results.md", "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
