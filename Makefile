# clgan: portable GAN training on OpenCL.
#   make              library build/libclgan.a and CLI build/clgan
#   make test         install missing dependencies, build, run every test suite
#   make test-oclgrind  kernel suites (small shapes) under Oclgrind --data-races
#   make valgrind     test binaries under valgrind (definite leaks fail)
#   make demo         install, build, then the demo job
#   make clean

CC      ?= cc
OPT     ?= -O2
CFLAGS  += -std=c11 $(OPT) -g -Wall -Wextra -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Werror
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -DCL_TARGET_OPENCL_VERSION=120 -Ihost -Imodels -MMD -MP
LDLIBS  += -lclblast -lOpenCL -lpng -lz -lm
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

.SECONDARY:
.PHONY: all deps test test-oclgrind valgrind demo clean
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

test: deps
	@$(MAKE) -s --no-print-directory all $(TESTS)
	@scripts/run-tests.sh $(TESTS)

test-oclgrind: deps
	@$(MAKE) -s --no-print-directory all $(TESTS)
	@scripts/run-oclgrind.sh $(TESTS)

valgrind: deps
	@$(MAKE) -s --no-print-directory all $(TESTS)
	@scripts/run-valgrind.sh $(TESTS)

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
