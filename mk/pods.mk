# pods.mk: the checks POD_CREATE applies to a pod's id, hostname and sysctls
# (privhelper/podcheck.c, pure: proto/helper.h and libc), their unit test and
# fuzz target. privhelper/pods.c itself is linked into brig-helper only.
$(BUILD)/tests/test_podcheck: $(BUILD)/obj/privhelper/podcheck.o
build/fuzz/fuzz_podcheck: privhelper/podcheck.c
