# ctrcheck.mk: the checks CTR_CREATE applies to a decoded container request
# (privhelper/ctrcheck.c, pure: common/ and libc), its unit test and fuzz
# target. privhelper/containers.c itself is linked into brig-helper only.
$(BUILD)/tests/test_ctrcheck: $(BUILD)/obj/privhelper/ctrcheck.o
build/fuzz/fuzz_ctrcheck: privhelper/ctrcheck.c
