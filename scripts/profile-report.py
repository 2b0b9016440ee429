#!/usr/bin/env python3
"""Report of scripts/profile-micro.sh: guest instructions per API call, by function.

Arguments: SYSTEM_MAP CONSOLE_1 BLOCKS_1 CONSOLE_2 BLOCKS_2 TOP
BLOCKS files hold "vaddr insns executions" per translated block (tools/tbprof); CONSOLE files
hold the guest's module symbols as "ZS-KSYM addr type name [module]" lines. Boot 1 ran
rust_zsmalloc only, boot 2 zsmalloc only. Calls are the executions of each API function's
entry block (a function's first block starts at its symbol's address).
"""
import bisect
import collections
import re
import sys

ENTRIES = {
    1: {"malloc": "rzs_malloc", "free": "rzs_free", "map": "rzs_map_object"},
    2: {"malloc": "zs_malloc", "free": "zs_free", "map": "zs_map_object"},
}


def symbols(system_map, console):
    syms = []
    with open(system_map) as f:
        for line in f:
            addr, kind, name = line.split()[:3]
            if kind in "tTwW":
                syms.append((int(addr, 16), name))
    with open(console, errors="replace") as f:
        for line in f:
            m = re.search(r"ZS-KSYM ([0-9a-f]+) ([tTwW]) (\S+)\s+\[(\S+)\]", line)
            if m:
                syms.append((int(m.group(1), 16), f"{m.group(3)} [{m.group(4)}]"))
    if not any("[zsmalloc_rs]" in name for _, name in syms):
        sys.exit(f"no module symbols in {console}: did the bench-profile scenario run?")
    syms.sort()
    return syms


def profile(system_map, console, blocks):
    syms = symbols(system_map, console)
    addrs = [a for a, _ in syms]
    by_func = collections.Counter()
    entry_execs = collections.Counter()
    starts = {a: n for a, n in syms}
    with open(blocks) as f:
        for line in f:
            vaddr, insns, execs = line.split()
            vaddr, insns, execs = int(vaddr, 16), int(insns), int(execs)
            i = bisect.bisect_right(addrs, vaddr) - 1
            name = syms[i][1] if i >= 0 else "?"
            # Rust symbols are long: keep the last two path segments.
            short = re.sub(r"_R[A-Za-z0-9_]*?(\d+[a-z_]\w*)$", r"\1", name)
            by_func[short] += insns * execs
            if vaddr in starts:
                entry_execs[starts[vaddr].split(" ")[0]] += execs
    return by_func, entry_execs


def main():
    system_map, c1, b1, c2, b2, top = sys.argv[1:7]
    top = int(top)
    results = {1: profile(system_map, c1, b1), 2: profile(system_map, c2, b2)}
    names = {1: "rust_zsmalloc", 2: "zsmalloc"}
    for boot in (1, 2):
        by_func, entry = results[boot]
        calls = {api: entry[sym] for api, sym in ENTRIES[boot].items()}
        print(f"== {names[boot]}: calls " + ", ".join(f"{k}={v}" for k, v in calls.items()))
        per = max(calls["malloc"], 1)
        total = sum(by_func.values())
        module = "[zsmalloc_rs]" if boot == 1 else "[zsmalloc]"
        own = sum(n for func, n in by_func.items() if func.endswith(module))
        print(f"   all guest instructions: {total:,} ({total / per:,.0f} per malloc call)")
        print(f"   in the allocator's module {module}: {own / per:,.0f} per malloc call, "
              f"{own / max(calls['malloc'] + calls['map'], 1):,.0f} per malloc or map call")
        print(f"   {'insns/malloc':>12} {'share':>6}  function")
        for func, n in by_func.most_common(top):
            print(f"   {n / per:12.1f} {100 * n / total:5.1f}%  {func}")
        print()


if __name__ == "__main__":
    main()
