/* crashpoint.h: places where the crash-safety tests may have brigd die, as
 * a power cut or an OOM kill would. Armed only through the test-only
 * brig.debug.v1 service (brigd --debug-rpcs); otherwise a point costs one
 * relaxed atomic load. */
#pragma once

/* RunPodSandbox: the record says "creating"; nothing asked of the helper. */
#define CRASH_POD_RECORDED "pod-recorded"
/* RunPodSandbox: the helper has pinned the namespaces; the record still
 * says "creating". */
#define CRASH_POD_PINNED "pod-pinned"
/* RunPodSandbox: the helper has attached the pod to the CNI network (an IP
 * is taken); the record still says "creating". */
#define CRASH_POD_NETWORKED "pod-networked"
/* RunPodSandbox: the record says "ready"; kubelet has no answer yet. */
#define CRASH_POD_READY "pod-ready"

/* CreateContainer: the record says "creating"; nothing asked of the
 * helper. */
#define CRASH_CTR_RECORDED "container-recorded"
/* CreateContainer: the helper has created the container (the runtime's
 * init waits for its start); the record still says "creating". */
#define CRASH_CTR_CREATED "container-created"
/* CreateContainer: the record says "created"; kubelet has no id yet. */
#define CRASH_CTR_CREATED_RECORDED "container-created-recorded"
/* StartContainer: the record says "starting"; CTR_START not sent. */
#define CRASH_CTR_STARTING "container-starting"
/* StartContainer: the helper has started the container; the record still
 * says "starting". */
#define CRASH_CTR_STARTED "container-started"
/* StopContainer: the stop signal is sent; no exit is recorded yet. */
#define CRASH_CTR_KILLED "container-killed"
/* RemoveContainer: the helper has deleted the container; its record is
 * still there. */
#define CRASH_CTR_REMOVING "container-removing"

/* Arms point (one of the names above, or NULL to disarm). Returns 0 or
 * -EINVAL for an unknown name. */
int crashpoint_arm(const char *point);

/* Kills brigd with SIGKILL when point is armed. */
void crashpoint(const char *point);
