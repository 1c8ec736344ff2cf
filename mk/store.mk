# store.mk: digests, manifests, image configs and brigd's content store
# (daemon/digest.c, manifest.c, image_config.c, store.c, and the jsondoc.c,
# errbuf.c and recfile.c they share), their unit tests and fuzz targets.
$(BUILD)/tests/test_digest: $(BUILD)/obj/daemon/digest.o
LIBS_test_digest := -lcrypto
$(BUILD)/tests/test_manifest: $(BUILD)/obj/daemon/manifest.o $(BUILD)/obj/daemon/digest.o \
                              $(BUILD)/obj/daemon/jsondoc.o $(BUILD)/obj/daemon/errbuf.o
LIBS_test_manifest := -ljansson -lcrypto
$(BUILD)/tests/test_image_config: $(BUILD)/obj/daemon/image_config.o $(BUILD)/obj/daemon/digest.o \
                                  $(BUILD)/obj/daemon/jsondoc.o $(BUILD)/obj/daemon/errbuf.o
LIBS_test_image_config := -ljansson -lcrypto
$(BUILD)/tests/test_store: $(BUILD)/obj/daemon/store.o $(BUILD)/obj/daemon/digest.o \
                           $(BUILD)/obj/daemon/jsondoc.o $(BUILD)/obj/daemon/errbuf.o \
                           $(BUILD)/obj/daemon/recfile.o
LIBS_test_store := -ljansson -lcrypto -lpthread

build/fuzz/fuzz_manifest: daemon/manifest.c daemon/digest.c daemon/jsondoc.c daemon/errbuf.c
LIBS_fuzz_manifest := -ljansson -lcrypto
build/fuzz/fuzz_image_config: daemon/image_config.c daemon/digest.c daemon/jsondoc.c daemon/errbuf.c
LIBS_fuzz_image_config := -ljansson -lcrypto
build/fuzz/fuzz_store_record: daemon/store.c daemon/digest.c daemon/jsondoc.c daemon/errbuf.c \
                              daemon/recfile.c
LIBS_fuzz_store_record := -ljansson -lcrypto -lpthread
