#!/usr/bin/env python3
"""Turn the ZS-BENCH lines of a bench guest console into a Markdown table and an SVG chart.

Usage: bench-report.py CONSOLE_LOG OUT_DIR
Writes OUT_DIR/results.md and OUT_DIR/zswap-density.svg; prints the table.
Ratios are to upstream zsmalloc, from the same boot: density = stored_pages x 4096 / pool_bytes
(uncompressed bytes held per byte of pool memory; compression is the same for every backend, so
the ratio compares the allocators), time = wall time of the same workload.
"""
import re
import statistics
import sys
from collections import defaultdict

LINE = re.compile(r"ZS-BENCH zswap backend=(\S+) round=(\d+) secs=([\d.]+) stored_pages=(\d+) pool_bytes=(\d+)")
ORDER = ["rust_zsmalloc", "zsmalloc", "zbud", "z3fold"]


def main():
    log, out = sys.argv[1], sys.argv[2]
    runs = defaultdict(list)
    with open(log, errors="replace") as f:
        for line in f:
            m = LINE.search(line)
            if m and int(m.group(5)) > 0:
                b = m.group(1)
                runs[b].append({"secs": float(m.group(3)), "density": int(m.group(4)) * 4096 / int(m.group(5)),
                                "stored": int(m.group(4)), "pool": int(m.group(5))})
    if "zsmalloc" not in runs:
        sys.exit("no zsmalloc runs in the log: nothing to compare with")
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
    table = "\n".join(rows)
    with open(f"{out}/results.md", "w") as f:
        f.write("## zswap end to end (one boot, alternating backends)\n\n" + table + "\n")
    bars = []
    for i, (b, ratio) in enumerate(medians.items()):
        w = int(300 * ratio)
        bars.append(f'<text x="5" y="{30 + i * 30}" font-size="14">{b}</text>'
                    f'<rect x="130" y="{17 + i * 30}" width="{w}" height="18" fill="#4a7"/>'
                    f'<text x="{135 + w}" y="{30 + i * 30}" font-size="14">{ratio:.3f}</text>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="560" height="{40 + 30 * len(medians)}">'
           '<text x="5" y="12" font-size="12">zswap density relative to zsmalloc (median)</text>'
           + "".join(bars) + '<line x1="430" y1="14" x2="430" y2="200" stroke="#a33"/></svg>')
    with open(f"{out}/zswap-density.svg", "w") as f:
        f.write(svg)
    print(table)


if __name__ == "__main__":
    main()
