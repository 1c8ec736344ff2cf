# brigd's pod side that runs without brigd: cgroup_parent paths
# (daemon/cgroup_path.c), the NET_ADD request built from a PodSandboxConfig
# (daemon/pod_network.c), and their unit tests.
$(BUILD)/tests/test_cgroup_path: $(BUILD)/obj/daemon/cgroup_path.o
$(BUILD)/tests/test_pod_network: $(BUILD)/obj/daemon/pod_network.o $(BUILD)/obj/daemon/errbuf.o \
                                 $(GEN_OBJ) | $(GEN_H)
LIBS_test_pod_network := -lprotobuf-c
