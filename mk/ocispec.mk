# ocispec.mk: what brig-helper writes and resolves for a container before
# the runtime runs it: the JSON writer (common/jsonw.c), the OCI config.json
# writer (privhelper/ocispec.c) and user resolution against the container's
# own passwd and group files (privhelper/userdb.c); their unit tests, which
# parse the output with jansson (only the tests link it), the fuzz target,
# and the ocispec_write tool tests/integration/test_ocispec_runc.py runs.
$(BUILD)/tests/test_ocispec: $(BUILD)/obj/privhelper/ocispec.o
LIBS_test_ocispec := -ljansson
LIBS_test_jsonw := -ljansson
$(BUILD)/tests/test_userdb: $(BUILD)/obj/privhelper/userdb.o

build/fuzz/fuzz_userdb: privhelper/userdb.c

TEST_TOOLS += $(BUILD)/tools/ocispec_write

$(BUILD)/tools/ocispec_write: tests/tools/ocispec_write.c $(BUILD)/obj/privhelper/ocispec.o \
                              $(BUILD)/obj/privhelper/userdb.o $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(filter %.c %.o,$^) -o $@
