# registry.mk: the registry client (daemon/registry.c, registry_auth.c,
# www_auth.c), its unit tests, fuzz target and the registry_fetch test tool
# used by tests/integration/test_registry_client.py.

REGISTRY_OBJS := $(BUILD)/obj/daemon/registry.o $(BUILD)/obj/daemon/registry_auth.o \
                 $(BUILD)/obj/daemon/www_auth.o $(BUILD)/obj/daemon/digest.o
REGISTRY_LIBS := -lcurl -lssl -lcrypto -ljansson -lpthread

$(BUILD)/tests/test_www_auth: $(BUILD)/obj/daemon/www_auth.o
$(BUILD)/tests/test_registry_auth: $(BUILD)/obj/daemon/registry_auth.o

build/fuzz/fuzz_www_auth: daemon/www_auth.c

TEST_TOOLS += $(BUILD)/tools/registry_fetch

$(BUILD)/tools/registry_fetch: tests/tools/registry_fetch.c $(REGISTRY_OBJS) $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(filter %.c %.o,$^) $(REGISTRY_LIBS) -o $@
