# SPDX-License-Identifier: GPL-2.0
# Front door. The kernel build itself reads Kbuild.
#
#   make              build the modules against the cached debug kernel
#   make KDIR=DIR     build them against your own built Rust-enabled 6.12 tree
#   make install      the kernel's modules_install for these modules (+ depmod); honours
#                     KDIR, INSTALL_MOD_PATH (default /), INSTALL_MOD_DIR (default updates)
#   make rust-analyzer  write rust-project.json (for an editor) against KDIR
#   make test         the whole test suite (host + QEMU guest); ends "N passed, N failed"
#   make demo         build, boot, show rust_zsmalloc serving zswap and zram
#   make bench        benchmarks (bench kernel flavour)
#   make mutants      the mutation matrix: each seed-race guard removed must fail its test
#   make clean

ZS_CACHE ?= /var/cache/rust_zsmalloc
KDIR     ?= $(ZS_CACHE)/kernel/debug
LLVM     ?= -19
# The project's bindgen (scripts/setup-host.sh), else the one on PATH (a kernel of your own).
BINDGEN  ?= $(or $(wildcard $(ZS_CACHE)/tools/bin/bindgen),bindgen)
RUST_LIB_SRC ?= /usr/lib/rustlib/src/rust/library
export PATH := $(HOME)/.cargo/bin:$(PATH)

# dkms appends CC=clang LD=ld.lld for a clang-built kernel; LLVM= already selects the
# compiler and linker the kernel was built with (clang-19, ld.lld-19), so those are not passed
# down to the kernel's make.
MAKEOVERRIDES := $(filter-out CC=% LD=%,$(MAKEOVERRIDES))

KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) ARCH=x86_64 \
	BINDGEN=$(BINDGEN) RUST_LIB_SRC=$(RUST_LIB_SRC)

.PHONY: all modules install rust-analyzer test demo bench clean mutants
all: modules

modules:
	@test -f $(KDIR)/Module.symvers || { echo "no built kernel at $(KDIR): run scripts/build-kernel.sh or pass KDIR="; exit 1; }
	+$(KMAKE) modules

# The kernel's modules_install for an external module: KDIR's kernel release decides
# $(INSTALL_MOD_PATH)/lib/modules/<release>/$(INSTALL_MOD_DIR), then depmod (scripts/depmod.sh,
# with KDIR's System.map) indexes modules.dep and modules.alias there. Build first (`make`).
install:
	@test -f modules.order || { echo "nothing built here: run make (with the same KDIR=) first"; exit 1; }
	+$(KMAKE) modules_install

# rust-project.json for rust-analyzer: the kernel's generator for an external module (it finds
# the crate roots named in Kbuild), plus the crate roots it cannot see (tests/, bench/).
# 6.12's rule reads rust/Makefile relative to KDIR; a kernel built with O= keeps it in the
# source tree (KDIR/source), which VPATH points make at.
rust-analyzer:
	@test -f $(KDIR)/Module.symvers || { echo "no built kernel at $(KDIR): run scripts/build-kernel.sh or pass KDIR="; exit 1; }
	+$(KMAKE) $(if $(wildcard $(KDIR)/rust/Makefile),,VPATH=$(KDIR)/source) rust-analyzer
	python3 scripts/rust-analyzer-crates.py rust-project.json

test:
	bash scripts/test.sh

demo:
	bash scripts/demo.sh

bench:
	bash scripts/bench.sh

mutants:
	bash scripts/mutants.sh

clean:
	-$(KMAKE) clean
	rm -f sys/bindings_generated.rs rust-project.json
	rm -rf build
