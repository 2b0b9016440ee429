# SPDX-License-Identifier: GPL-2.0
# Front door. The kernel build itself reads Kbuild.
#
#   make              build the modules against the cached debug kernel
#   make KDIR=DIR     build them against your own built Rust-enabled 6.12 tree
#   make test         the whole test suite (host + QEMU guest); ends "N passed, N failed"
#   make demo         build, boot, show rust_zsmalloc serving zswap and zram
#   make bench        benchmarks (bench kernel flavour)
#   make clean

ZS_CACHE ?= /var/cache/rust_zsmalloc
KDIR     ?= $(ZS_CACHE)/kernel/debug
LLVM     ?= -19
BINDGEN  ?= $(ZS_CACHE)/tools/bin/bindgen
RUST_LIB_SRC ?= /usr/lib/rustlib/src/rust/library
export PATH := $(HOME)/.cargo/bin:$(PATH)

KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) ARCH=x86_64 \
	BINDGEN=$(BINDGEN) RUST_LIB_SRC=$(RUST_LIB_SRC)

.PHONY: all modules test demo bench clean
all: modules

modules:
	@test -f $(KDIR)/Module.symvers || { echo "no built kernel at $(KDIR): run scripts/build-kernel.sh or pass KDIR="; exit 1; }
	$(KMAKE) modules

test:
	bash scripts/test.sh

demo:
	bash scripts/demo.sh

bench:
	bash scripts/bench.sh

clean:
	-$(KMAKE) clean
	rm -f sys/bindings_generated.rs
	rm -rf build
