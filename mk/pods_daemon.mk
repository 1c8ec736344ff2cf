# brigd's pod side that runs without brigd: cgroup_parent paths
# (daemon/cgroup_path.c) and their unit test.
$(BUILD)/tests/test_cgroup_path: $(BUILD)/obj/daemon/cgroup_path.o
