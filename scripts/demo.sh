#!/usr/bin/env bash
# The demo arrives with the allocator (issue "Allocator core").
set -euo pipefail
echo "make demo: not yet available -- the allocator (issue: Allocator core) is not built yet." >&2
exit 2
