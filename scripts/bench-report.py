#!/usr/bin/env python3
"""Turn the ZS-BENCH lines of a bench guest console into Markdown tables and SVG charts.

Usage: bench-report.py CONSOLE_LOG OUT_DIR
Writes OUT_DIR/results.md, OUT_DIR/micro-ratios.svg and OUT_DIR/zswap-density.svg; prints the
tables. Everything is relative to upstream zsmalloc measured in the same boot.

Microbenchmark (bench/, `ZS-BENCH micro ...`): for each metric, the ratio rust_zsmalloc /
zsmalloc is taken per round (the two ran back to back in that round, on the same trace), and
min/median/max over the rounds are reported. Density = stored bytes / (pool pages + slab growth
+ per-CPU buffers); throughput = operations per second.

zswap end to end (`ZS-BENCH zswap ...`): density = stored_pages x 4096 / pool_bytes
(uncompressed bytes held per byte of pool memory; compression is the same for every backend, so
the ratio compares the allocators), time = wall time of the same workload; ratios to the median
of zsmalloc's rounds.
"""
import re
import statistics
import sys
from collections import defaultdict

ZSWAP = re.compile(r"ZS-BENCH zswap backend=(\S+) round=(\d+) secs=([\d.]+) stored_pages=(\d+) pool_bytes=(\d+)")
MICRO = re.compile(r"ZS-BENCH micro alloc=(\S+) round=(\d+) metric=(\S+) value=([\d.]+)(.*)")
TRACE = re.compile(r"ZS-BENCH micro trace (.*)")
ORDER = ["rust_zsmalloc", "zsmalloc", "zbud", "z3fold"]
MICRO_METRICS = [
    ("density_full", "density, trace stored", "higher is better"),
    ("density_half", "density, random half freed", "higher is better"),
    ("density_compacted", "density, half freed + compacted", "higher is better"),
    ("malloc_write_free_t1", "malloc+write+free ops/s, 1 thread", "targeted"),
    ("malloc_write_free_t2", "malloc+write+free ops/s, 2 threads", "targeted"),
    ("malloc_write_free_t4", "malloc+write+free ops/s, 4 threads", "not targeted"),
    ("map_read_unmap_t1", "map+read+unmap ops/s, 1 thread", "targeted"),
    ("map_read_unmap_t2", "map+read+unmap ops/s, 2 threads", "targeted"),
    ("map_read_unmap_t4", "map+read+unmap ops/s, 4 threads", "not targeted"),
]


def fmt(x):
    return f"{x:.4f}" if x < 10 else f"{x:,.0f}"


def micro_section(log_lines):
    """The microbenchmark table, and the (label, min, median, max) ratios for the chart."""
    values = defaultdict(dict)  # (alloc, metric) -> {round: value}
    details = {}
    trace = None
    for line in log_lines:
        m = MICRO.search(line)
        if m:
            values[(m.group(1), m.group(3))][int(m.group(2))] = float(m.group(4))
            details[(m.group(1), m.group(3), int(m.group(2)))] = m.group(5).strip()
            continue
        t = TRACE.search(line)
        if t:
            trace = t.group(1).strip()
    if not values:
        return None, []
    rows = ["| metric | rust_zsmalloc (median) | zsmalloc (median) | ratio rust/zsmalloc: min, **median**, max | rounds |",
            "|---|---|---|---|---|"]
    chart = []
    for metric, label, note in MICRO_METRICS:
        ours, theirs = values.get(("rust_zsmalloc", metric), {}), values.get(("zsmalloc", metric), {})
        rounds = sorted(set(ours) & set(theirs))
        if not rounds:
            continue
        ratios = [ours[r] / theirs[r] for r in rounds if theirs[r] > 0]
        if not ratios:
            continue
        lo, med, hi = min(ratios), statistics.median(ratios), max(ratios)
        rows.append(f"| {label} ({note}) | {fmt(statistics.median(ours[r] for r in rounds))} "
                    f"| {fmt(statistics.median(theirs[r] for r in rounds))} | {lo:.3f}, **{med:.3f}**, {hi:.3f} | {len(rounds)} |")
        chart.append((label, lo, med, hi))
    text = "## Microbenchmark: rust_zsmalloc vs zsmalloc (one boot, same trace, alternating)\n\n"
    if trace:
        text += f"Trace: {trace}\n\n"
    text += "\n".join(rows) + "\n"
    # Where the memory went, first round, for the density rows.
    text += "\nMemory behind the density figures (round 1): stored bytes, pool pages, slab pages grown, per-CPU buffer bytes\n\n"
    text += "| metric | rust_zsmalloc | zsmalloc |\n|---|---|---|\n"
    for metric, label, _ in MICRO_METRICS[:3]:
        a = details.get(("rust_zsmalloc", metric, 1), "")
        b = details.get(("zsmalloc", metric, 1), "")
        if a or b:
            text += f"| {label} | {a} | {b} |\n"
    return text, chart


def micro_svg(chart):
    """Horizontal bars of the median ratio with a min..max whisker; the red line is 1.0."""
    scale, left, top, step = 300, 290, 24, 26
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
        if m and int(m.group(5)) > 0:
            runs[m.group(1)].append({"secs": float(m.group(3)), "density": int(m.group(4)) * 4096 / int(m.group(5))})
    if "zsmalloc" not in runs:
        return None, {}
    ref_d = statistics.median(r["density"] for r in runs["zsmalloc"])
    ref_t = statistics.median(r["secs"] for r in runs["zsmalloc"])
    rows = ["| backend | rounds | density (median) | density / zsmalloc (min, median, max) | time s (median) | time / zsmalloc (min, median, max) |",
            "|---|---|---|---|---|---|"]
    medians = {}
    for b in [b for b in ORDER if b in runs]:
        d = [r["density"] for r in runs[b]]
        t = [r["secs"] for r in runs[b]]
        medians[b] = statistics.median(d) / ref_d
        rows.append(f"| {b} | {len(d)} | {statistics.median(d):.3f} | {min(d)/ref_d:.3f}, {statistics.median(d)/ref_d:.3f}, {max(d)/ref_d:.3f} "
                    f"| {statistics.median(t):.1f} | {min(t)/ref_t:.3f}, {statistics.median(t)/ref_t:.3f}, {max(t)/ref_t:.3f} |")
    return "## zswap end to end (one boot, alternating backends)\n\n" + "\n".join(rows) + "\n", medians


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
    with open(f"{out}/results.md", "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
