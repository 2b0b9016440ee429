#!/usr/bin/env python3
"""Add the crate roots the kernel's generator cannot see to rust-project.json.

The kernel's scripts/generate_rust_analyzer.py takes a file as a crate root only when a Kbuild
or Makefile *in the same directory* names its object, so it finds rust_zsmalloc.rs and
zs_compat.rs but not tests/kunit.rs (zsmalloc_rs_kunit.ko, built with --cfg zs_kunit) or
bench/zs_bench.rs (zsmalloc_rs_bench.ko), which the top-level Kbuild names. Each is added
with the settings of the generator's rust_zsmalloc crate (deps, cfgs, edition, env).

Usage: rust-analyzer-crates.py RUST_PROJECT_JSON   (rewritten in place)
"""
import copy
import json
import pathlib
import sys

# crate root (relative to the module directory) -> extra cfgs its Kbuild rule passes
EXTRA_ROOTS = {
    "tests/kunit.rs": ["zs_kunit"],
    "bench/zs_bench.rs": [],
}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    path = pathlib.Path(sys.argv[1])
    project = json.loads(path.read_text())
    crates = project["crates"]
    base = next((c for c in crates if c["root_module"].endswith("/rust_zsmalloc.rs")), None)
    if base is None:
        sys.exit(f"{path}: no rust_zsmalloc.rs crate: did the kernel's generator run on this module?")
    moddir = pathlib.Path(base["root_module"]).parent
    roots = {c["root_module"] for c in crates}
    for rel, cfgs in EXTRA_ROOTS.items():
        root = moddir / rel
        if str(root) in roots or not root.exists():
            continue
        crate = copy.deepcopy(base)
        crate["display_name"] = root.stem
        crate["root_module"] = str(root)
        crate["cfg"] = base.get("cfg", []) + cfgs
        crates.append(crate)
    path.write_text(json.dumps(project, sort_keys=True, indent=4) + "\n")


if __name__ == "__main__":
    main()
