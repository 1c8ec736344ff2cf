# brig-unpack: the confined layer unpacker brig-helper spawns (privhelper/unpack/).
UNPACK_SRCS := $(sort $(wildcard privhelper/unpack/*.c))
UNPACK_OBJS := $(UNPACK_SRCS:%.c=$(BUILD)/obj/%.o)
UNPACK_LIBS := -lpthread -larchive -lisal -lzstd -luring -lcrypto -lseccomp -lcap-ng
# The unpacking core without main.c and the confinement: what the fuzzer runs.
UNPACK_CORE := privhelper/unpack/stream.c privhelper/unpack/writer.c privhelper/unpack/untar.c \
               privhelper/unpack/fileq.c privhelper/unpack/meta.c \
               privhelper/unpack/ids.c

EXTRA_PROGRAMS += $(BUILD)/brig-unpack

$(BUILD)/brig-unpack: $(UNPACK_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) $^ $(UNPACK_LIBS) -o $@

build/fuzz/fuzz_untar: $(UNPACK_CORE)
LIBS_fuzz_untar := -lpthread -larchive -lisal -lzstd -luring -lcrypto

$(BUILD)/tests/test_unpack_core: $(filter-out %/main.o %/confine.o,$(UNPACK_OBJS))
LIBS_test_unpack_core := -lpthread -larchive -lisal -lz -lzstd -luring -lcrypto
