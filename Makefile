# brig: the one build file. `make help` lists the targets.
#
# Two builds share these rules: the hardened release build in build/, and the
# sanitizer build (ASan + UBSan, clang) in build/asan/, made with SANITIZE=1.
# The tests run against the sanitizer build.

PREFIX     ?= /usr/local
DESTDIR    ?=
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
SANITIZE   ?= 0
FUZZ_TIME  ?= 60
PYTHON     ?= /usr/bin/python3
PYTEST_ARGS ?=

VERSION := 0.1.0

ifeq ($(SANITIZE),1)
BUILD    ?= build/asan
CC       := clang
OPTFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
# FORTIFY is left out here: ASan intercepts the same calls and the two disagree.
HARDEN   := -fstack-protector-strong -fPIE
else
BUILD    ?= build
OPTFLAGS := -O2 -g
HARDEN   := -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fPIE
endif

WARN     := -Wall -Wextra -Werror
CPPFLAGS += -D_GNU_SOURCE -DBRIG_VERSION='"$(VERSION)"' -I. -Icommon -Iproto -I$(BUILD)/gen
CFLAGS   += -std=c17 $(WARN) $(OPTFLAGS) $(HARDEN) -MMD -MP
LDFLAGS  += $(OPTFLAGS) -pie -Wl,-z,relro,-z,now -Wl,--as-needed

# protoc-c output is not ours to fix: keep it strict except for what it trips.
GEN_CFLAGS := -std=c17 -Wall -Wextra -Werror -Wno-unused-parameter $(OPTFLAGS) $(HARDEN) -MMD -MP

COMMON_SRCS := $(sort $(wildcard common/*.c))
DAEMON_SRCS := $(sort $(wildcard daemon/*.c))
HELPER_SRCS := $(sort $(wildcard privhelper/*.c))
UNIT_SRCS   := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS   := $(sort $(wildcard tests/fuzz/fuzz_*.c))

COMMON_OBJS := $(COMMON_SRCS:%.c=$(BUILD)/obj/%.o)
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(BUILD)/obj/%.o)
HELPER_OBJS := $(HELPER_SRCS:%.c=$(BUILD)/obj/%.o)
PROTOS      := api debug
GEN_C       := $(PROTOS:%=$(BUILD)/gen/%.pb-c.c)
GEN_H       := $(PROTOS:%=$(BUILD)/gen/%.pb-c.h)
GEN_OBJ     := $(PROTOS:%=$(BUILD)/obj/gen/%.pb-c.o)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_BINS   := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)

BRIGD       := $(BUILD)/brigd
BRIG_HELPER := $(BUILD)/brig-helper

DAEMON_LIBS := -lgrpc -lgpr -lprotobuf-c -lseccomp -lcurl -lssl -lcrypto -ljansson -lmicrohttpd -lpthread
# The helper links nothing that parses network formats: see docs/helper-protocol.md.
HELPER_LIBS := -lcap-ng -lmnl
UNIT_LIBS   := -lcmocka

.PHONY: all deps check unit fuzz fuzz-smoke integration run install uninstall bench format \
        format-check clean asan help
.DEFAULT_GOAL := all

# Programs besides brigd and brig-helper (brig-unpack, test tools) and the
# extra objects and libraries a unit test or fuzz target links are declared
# by the module that owns them, in mk/<module>.mk:
#   EXTRA_PROGRAMS += $(BUILD)/<program>         built by `all`
#   TEST_TOOLS     += $(BUILD)/tools/<tool>       built for the integration tests
#   $(BUILD)/tests/test_x: $(BUILD)/obj/daemon/x.o   linked into a unit test
#   LIBS_test_x := -ljansson                         its libraries
#   build/fuzz/fuzz_x: daemon/x.c                    compiled into a fuzz target
#   LIBS_fuzz_x := -ljansson
EXTRA_PROGRAMS :=
TEST_TOOLS     :=
-include $(sort $(wildcard mk/*.mk))

all: $(BRIG_HELPER) $(BRIGD) $(EXTRA_PROGRAMS)

help:
	@echo "make            build brigd and brig-helper (hardened) into build/"
	@echo "make deps       install missing build and test packages (apt-get, needs root)"
	@echo "make check      deps, build, unit tests, fuzz smoke run, integration tests"
	@echo "make asan       the ASan+UBSan build into build/asan/ (what the tests use)"
	@echo "make run        run brig in the foreground with the built-in default config"
	@echo "make fuzz       run every fuzz target for FUZZ_TIME seconds (default 60)"
	@echo "make bench      run the benchmarks in scripts/bench.sh"
	@echo "make install    install into DESTDIR/PREFIX (default /usr/local)"
	@echo "make format     clang-format every C file"

# --- build ---------------------------------------------------------------

$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h &: proto/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen -Iproto $<

$(BUILD)/obj/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(GEN_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# brigd's sources include the generated header.
$(DAEMON_OBJS): | $(GEN_H)

$(BRIGD): $(DAEMON_OBJS) $(COMMON_OBJS) $(GEN_OBJ)
	$(CC) $(LDFLAGS) $^ $(DAEMON_LIBS) -o $@

$(BRIG_HELPER): $(HELPER_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) $^ $(HELPER_LIBS) -o $@

asan:
	$(MAKE) SANITIZE=1 all unit-bins

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# --- dependencies ----------------------------------------------------------

deps:
	@scripts/deps.sh

# --- tests ---------------------------------------------------------------

.PHONY: unit-bins test-tools
unit-bins: $(UNIT_BINS)
test-tools: $(TEST_TOOLS)

$(BUILD)/tests/%: tests/unit/%.c $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(filter %.c %.o,$^) $(UNIT_LIBS) $(LIBS_$*) -o $@

unit:
	$(MAKE) SANITIZE=1 unit-bins
	@scripts/run-unit.sh build/asan/tests
	$(if $(wildcard tests/unit/test_*.py),$(PYTHON) -m pytest -q -p no:cacheprovider tests/unit)

FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -DBRIG_VERSION='"$(VERSION)"' -g -O1 -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=all -I. -Icommon -Iproto

build/fuzz/%: tests/fuzz/%.c $(COMMON_SRCS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(filter %.c,$^) $(LIBS_$*) -o $@

fuzz: $(FUZZ_BINS)
	@scripts/run-fuzz.sh $(FUZZ_TIME) $(FUZZ_BINS)

fuzz-smoke: $(FUZZ_BINS)
	@scripts/run-fuzz.sh 5 $(FUZZ_BINS)

integration:
	$(MAKE) SANITIZE=1 all test-tools
	BRIG_BUILD=$(CURDIR)/build/asan $(PYTHON) -m pytest -v -p no:cacheprovider tests/integration $(PYTEST_ARGS)

check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) fuzz-smoke
	$(MAKE) integration

# --- running and installing ------------------------------------------------

# An empty file, and no drop-in directory beside it: the built-in defaults
# alone, whatever /etc/brig holds.
DEFAULTS_CONF := $(BUILD)/defaults.conf

$(DEFAULTS_CONF):
	@mkdir -p $(dir $@)
	: > $@

# Like check, run first installs what is missing, so a fresh machine needs nothing else.
run: deps
	$(MAKE) all $(DEFAULTS_CONF)
	scripts/cni-default.sh /etc/cni/net.d
	$(BRIG_HELPER) --config $(DEFAULTS_CONF)

bench: all
	@scripts/bench.sh $(BUILD)

install: all $(DEFAULTS_CONF)
	install -D -m 0755 $(BRIG_HELPER) $(DESTDIR)$(SBINDIR)/brig-helper
	install -D -m 0755 $(BRIGD) $(DESTDIR)$(SBINDIR)/brigd
	install -D -m 0755 $(BUILD)/brig-unpack $(DESTDIR)$(SBINDIR)/brig-unpack
	install -D -m 0755 $(BUILD)/brig-cni $(DESTDIR)$(SBINDIR)/brig-cni
	install -D -m 0755 $(BUILD)/brig-monitor $(DESTDIR)$(SBINDIR)/brig-monitor
	scripts/cni-default.sh $(DESTDIR)$(SYSCONFDIR)/cni/net.d
	install -D -m 0644 docs/man/brig-helper.8 $(DESTDIR)$(MANDIR)/man8/brig-helper.8
	install -D -m 0644 docs/man/brigd.8 $(DESTDIR)$(MANDIR)/man8/brigd.8
	install -D -m 0644 docs/man/brig.conf.5 $(DESTDIR)$(MANDIR)/man5/brig.conf.5
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|g' docs/brig-helper.service.in > $(DESTDIR)$(UNITDIR)/brig-helper.service
	install -d $(DESTDIR)$(SYSCONFDIR)/brig/brig.conf.d
	test -e $(DESTDIR)$(SYSCONFDIR)/brig/brig.conf || { \
		$(BRIG_HELPER) --config $(DEFAULTS_CONF) config > $(DESTDIR)$(SYSCONFDIR)/brig/brig.conf.tmp && \
		mv $(DESTDIR)$(SYSCONFDIR)/brig/brig.conf.tmp $(DESTDIR)$(SYSCONFDIR)/brig/brig.conf; }

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/brig-helper $(DESTDIR)$(SBINDIR)/brigd \
	      $(DESTDIR)$(SBINDIR)/brig-unpack $(DESTDIR)$(SBINDIR)/brig-cni \
	      $(DESTDIR)$(SBINDIR)/brig-monitor \
	      $(DESTDIR)$(MANDIR)/man8/brig-helper.8 $(DESTDIR)$(MANDIR)/man8/brigd.8 \
	      $(DESTDIR)$(MANDIR)/man5/brig.conf.5 $(DESTDIR)$(UNITDIR)/brig-helper.service

# --- style -----------------------------------------------------------------

C_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

format:
	clang-format -i $(C_FILES)

format-check:
	clang-format --dry-run -Werror $(C_FILES)

clean:
	rm -rf build
