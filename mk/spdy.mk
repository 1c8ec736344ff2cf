# spdy.mk: the SPDY/3.1 framing codec of the streaming server (daemon/spdy.c),
# its unit test and fuzz target. Header blocks are zlib-compressed, so brigd,
# the test and the fuzz target link zlib.
DAEMON_LIBS += -lz

$(BUILD)/tests/test_spdy: $(BUILD)/obj/daemon/spdy.o $(BUILD)/obj/daemon/errbuf.o
LIBS_test_spdy := -lz

build/fuzz/fuzz_spdy: daemon/spdy.c daemon/errbuf.c
LIBS_fuzz_spdy := -lz
