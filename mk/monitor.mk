# brig-monitor: the per-pod parent of a pod's containers, their output and
# their exit records (privhelper/monitor/, docs/brig-monitor.md). libc and
# the common objects only: it runs once per pod and has to stay small.
MONITOR_SRCS := $(sort $(wildcard privhelper/monitor/*.c))
MONITOR_OBJS := $(MONITOR_SRCS:%.c=$(BUILD)/obj/%.o)
# The pure parts: what the tests and the fuzzers run.
MONITOR_CORE := privhelper/monitor/crilog.c privhelper/monitor/rtlog.c privhelper/monitor/wire.c

EXTRA_PROGRAMS += $(BUILD)/brig-monitor

$(BUILD)/brig-monitor: $(MONITOR_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) $^ -o $@

$(BUILD)/tests/test_crilog: $(MONITOR_CORE:%.c=$(BUILD)/obj/%.o)
$(BUILD)/tests/test_monwire: $(MONITOR_CORE:%.c=$(BUILD)/obj/%.o)

build/fuzz/fuzz_crilog: $(MONITOR_CORE)
build/fuzz/fuzz_monwire: $(MONITOR_CORE)
