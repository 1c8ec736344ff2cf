# brigd's container side that runs without brigd: the container spec built
# from a CreateContainer request (daemon/ctr_request.c), and its unit test.
$(BUILD)/tests/test_ctr_request: $(BUILD)/obj/daemon/ctr_request.o $(BUILD)/obj/daemon/errbuf.o \
                                 $(BUILD)/obj/daemon/ctrspec_encode.o $(GEN_OBJ) | $(GEN_H)
LIBS_test_ctr_request := -lprotobuf-c

# The hub of container events behind GetContainerEvents, and its unit test.
$(BUILD)/tests/test_ctr_events: $(BUILD)/obj/daemon/ctr_events.o | $(GEN_H)
LIBS_test_ctr_events := -lpthread

# brigd's streaming server (libmicrohttpd) and its unit test.
$(BUILD)/tests/test_stream_server: $(BUILD)/obj/daemon/stream_server.o
LIBS_test_stream_server := -lmicrohttpd -lpthread

# The container request's encoder is brigd's (the helper links only the
# decoder in common/): its unit test and the round trip of the fuzz target
# link it.
$(BUILD)/tests/test_ctrspec: $(BUILD)/obj/daemon/ctrspec_encode.o
build/fuzz/fuzz_ctrspec: daemon/ctrspec_encode.c
