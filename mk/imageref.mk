# Image references and registries.conf (daemon/imageref.c, daemon/registries.c).
$(BUILD)/tests/test_imageref: $(BUILD)/obj/daemon/imageref.o
$(BUILD)/tests/test_registries: $(BUILD)/obj/daemon/registries.o $(BUILD)/obj/daemon/imageref.o
build/fuzz/fuzz_imageref: daemon/imageref.c
build/fuzz/fuzz_registries: daemon/registries.c daemon/imageref.c
