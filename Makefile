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

B        := build
LIB_SRC  := $(wildcard host/*.c) $(wildcard models/*.c)
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

$(B)/libclgan.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(B)/clgan: $(CLI_OBJ) $(B)/libclgan.a
	$(CC) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

$(B)/tests/%: $(B)/tests/%.o $(TEST_SUP) $(B)/libclgan.a
	$(CC) $(CFLAGS) $^ -o $@ $(LDFLAGS) -lcmocka $(LDLIBS)

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
