# brig-cni: the confined program that does all of brig's CNI JSON work for
# brig-helper's CNI runner (privhelper/cni/, docs/brig-cni.md).
CNI_SRCS := $(sort $(wildcard privhelper/cni/*.c))
CNI_OBJS := $(CNI_SRCS:%.c=$(BUILD)/obj/%.o)
CNI_LIBS := -ljansson -lseccomp -lcap-ng
# The pure parts, without main.c and the confinement: what the tests and the
# fuzzer run.
CNI_CORE := privhelper/cni/netconf.c privhelper/cni/wire.c

EXTRA_PROGRAMS += $(BUILD)/brig-cni

$(BUILD)/brig-cni: $(CNI_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) $^ $(CNI_LIBS) -o $@

$(BUILD)/tests/test_netconf: $(CNI_CORE:%.c=$(BUILD)/obj/%.o)
LIBS_test_netconf := -ljansson

build/fuzz/fuzz_netconf: $(CNI_CORE)
LIBS_fuzz_netconf := -ljansson
