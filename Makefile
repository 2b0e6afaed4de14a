# clgan: portable GAN training on OpenCL.
#   make              library build/libclgan.a and CLI build/clgan
#   make test         install missing dependencies, build, run every test suite
#   make test-oclgrind  kernel suites (small shapes) under Oclgrind --data-races
#   make valgrind     test binaries under valgrind (definite leaks fail)
#   make sanitize     library, CLI and tests with ASan + UBSan (in build-san), suites run
#   make fuzz         libFuzzer targets (clang; in build-fuzz), FUZZ_SECONDS each (60)
#   make fuzz-ci      the same for 10 s each: what CI runs (about 2 minutes with the build)
#   make test-intel   the suites on Intel's OpenCL CPU runtime (PyPI wheels, under build/intel)
#   make demo         install, build, then the demo job
#   make clean

CC      ?= cc
OPT     ?= -O2
CFLAGS  += -std=c11 $(OPT) -g -Wall -Wextra -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Werror
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -DCL_TARGET_OPENCL_VERSION=120 -Ihost -Imodels -MMD -MP
LDLIBS  += -lclblast -lOpenCL -lpng -lz -lm
# Extra compile and link flags (the sanitizer and fuzzer builds set them).
XCFLAGS ?=
CFLAGS  += $(XCFLAGS)

SAN_FLAGS    := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_FLAGS   := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := json safetensors idx cifar png tune

# MPI=1: data-parallel training over MPI (host/dist_mpi.c, compiled and linked
# with $(MPICC), Open MPI's or MPICH's wrapper of cc); MPI=0: one process
# (host/dist_single.c). Default: 1 when $(MPICC) is installed. `make clean`
# after switching.
MPICC   ?= mpicc
MPI     ?= $(if $(shell command -v $(MPICC) 2>/dev/null),1,0)
DIST    := $(if $(filter 1,$(MPI)),mpi,single)
LINK    := $(if $(filter 1,$(MPI)),$(MPICC),$(CC))

B        := build
LIB_SRC  := $(filter-out host/dist_mpi.c host/dist_single.c,$(wildcard host/*.c)) \
            host/dist_$(DIST).c $(wildcard models/*.c)
KERNELS  := $(sort $(wildcard kernels/*.cl))
GEN      := $(B)/gen/kernel_sources.c
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o) $(B)/gen/kernel_sources.o
CLI_OBJ  := $(patsubst %.c,$(B)/%.o,$(wildcard cli/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TESTS    := $(TEST_SRC:tests/%.c=$(B)/tests/%)
TEST_SUP := $(B)/tests/testutil.o
FUZZERS  := $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%)

.SECONDARY:
.PHONY: all deps test test-oclgrind valgrind sanitize fuzz fuzz-ci fuzzers test-intel test-mpich demo clean
all: $(B)/libclgan.a $(B)/clgan

deps:
	@scripts/install-deps.sh

$(GEN): $(KERNELS) scripts/embed-kernels.sh
	@mkdir -p $(dir $@)
	scripts/embed-kernels.sh $(KERNELS) > $@.$$$$.tmp && mv $@.$$$$.tmp $@

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/host/dist_mpi.o: CC := $(MPICC)

$(B)/libclgan.a: $(LIB_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

$(B)/clgan: $(CLI_OBJ) $(B)/libclgan.a
	$(LINK) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

$(B)/tests/%: $(B)/tests/%.o $(TEST_SUP) $(B)/libclgan.a
	$(LINK) $(CFLAGS) $^ -o $@ $(LDFLAGS) -lcmocka $(LDLIBS)

$(B)/fuzz/fuzz_%: $(B)/fuzz/fuzz_%.o $(B)/fuzz/fuzz_file.o $(B)/libclgan.a
	$(CC) $(CFLAGS) -fsanitize=fuzzer $^ -o $@ $(LDFLAGS) $(LDLIBS)

$(B)/fuzz/gen_seeds: $(B)/fuzz/gen_seeds.o $(B)/libclgan.a
	$(CC) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

fuzzers: $(FUZZERS) $(B)/fuzz/gen_seeds

test: deps
	@$(MAKE) -s --no-print-directory all $(TESTS)
	@scripts/run-tests.sh $(TESTS)

test-oclgrind: deps
	@$(MAKE) -s --no-print-directory all $(TESTS)
	@scripts/run-oclgrind.sh $(TESTS)

valgrind: deps
	@$(MAKE) -s --no-print-directory all $(TESTS)
	@scripts/run-valgrind.sh $(TESTS)

# The same sources built with ASan + UBSan (gcc's libasan/libubsan or clang),
# as one process (MPI=0: the sanitizers would report Open MPI's own leaks).
sanitize: deps
	@$(MAKE) -s --no-print-directory B=build-san OPT=-O1 MPI=0 XCFLAGS="$(SAN_FLAGS)" all \
	    $(TESTS:$(B)/%=build-san/%)
	@scripts/run-sanitize.sh $(TESTS:$(B)/%=build-san/%)

fuzz: deps
	@scripts/install-deps.sh fuzz
	@$(MAKE) -s --no-print-directory B=build-fuzz CC=clang MPI=0 XCFLAGS="$(FUZZ_FLAGS)" fuzzers
	@scripts/run-fuzz.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-ci:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

test-intel: deps
	@$(MAKE) -s --no-print-directory all $(TESTS)
	@scripts/run-intel.sh $(B) $(TESTS)

# The MPI suite (tests/test_dist.c) built with MPICH and run by its mpirun.
test-mpich: deps
	@scripts/install-deps.sh mpich
	@$(MAKE) -s --no-print-directory B=build-mpich MPICC=mpicc.mpich build-mpich/clgan \
	    build-mpich/tests/test_dist
	@scripts/run-mpich.sh build-mpich

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

clean:
	rm -rf $(B) build-san build-fuzz build-mpich

-include $(shell find $(B) -name '*.d' 2>/dev/null)
