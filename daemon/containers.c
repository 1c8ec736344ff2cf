/* containers.c: owns brigd's containers: the table, ids, the record of each
 * container (root/pods/<id>.ctr: state, times, exit, image, log path, stop
 * signal and the ContainerConfig as kubelet sent it, packed), the create /
 * start / stop / remove steps and their order against the helper and the
 * records, learning exits from CTR_STATUS, and the clean-up at start of
 * what a crash left half-created. */
#include "containers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "crashpoint.h"
#include "ctr_events.h"
#include "ctr_request.h"
#include "ctrevent.h"
#include "ctrspec.h"
#include "ctrspec_encode.h"
#include "digest.h"
#include "errbuf.h"
#include "fsutil.h"
#include "log.h"
#include "recfile.h"
#include "util.h"

#define RECORD_SUFFIX ".ctr"
/* How often a stop asks the helper whether the container has exited. */
#define POLL_MS 100
/* How long a SIGKILLed container may take to be reaped and recorded. */
#define KILL_WAIT_MS 10000
/* The exit code and reason of a container whose exit nobody saw (the
 * helper no longer knows it, or its monitor died before it), as runtimes
 * report an unknown exit. */
#define EXIT_UNKNOWN   255
#define REASON_UNKNOWN "Unknown"
#define REASON_OOM     "OOMKilled"
/* How long a container's init may be gone without an exit recorded before
 * brigd stops waiting for its monitor: the monitor writes the exit file
 * right after reaping, so only a monitor that is gone takes this long. */
#define LOST_GRACE_MS 5000
/* How long brigd's start waits for the helper to finish a create (or a
 * removal) that a brigd which died had asked for, before undoing it. */
#define BUSY_WAIT_MS 30000

/* A container and what only this file sees of it. */
struct entry {
        struct container pub;
        /* guarded by the table's lock */
        struct ctr_status status;
        bool creating; /* not listed until created */
        bool starting; /* CTR_START asked for (or, after a crash, maybe) */
        bool removed;  /* out of the table: no record is written any more */
        /* The helper said the init neither runs nor has an exit, first at
         * lost_since_ms (CLOCK_MONOTONIC), lost_at (ns since the epoch). */
        bool lost;
        int64_t lost_since_ms, lost_at;
        /* An event may have been missed for it: the helper is asked about
         * it while it runs (see containers.h), until an answer says it
         * runs under a monitor the helper hears from. */
        bool suspect;
        /* the resources of the last UpdateContainerResources, packed and
         * hex-encoded as the record keeps them; NULL: the config's */
        char *resources_hex;
        unsigned refs;
        /* One start, stop or remove of the container at a time. */
        pthread_mutex_t op_lock;
        /* One record write at a time, each of the newest status, and none
         * once the record is deleted. */
        pthread_mutex_t rec_lock;
};

struct containers {
        struct helper_client *helper;
        struct pods *pods;
        int dir_fd;
        pthread_mutex_t lock; /* the table, and every entry's guarded fields */
        struct entry **v;
        size_t n, cap;
        /* Shared by creations and starts, exclusive for a pod's stop or
         * removal and an image's removal (containers_create_begin()). */
        pthread_rwlock_t create_lock;
        /* The helper's exit events arrive: a running container that is
         * not suspect needs no asking. Guarded by lock. */
        bool events_live;
        /* Counts the events that made containers suspect, so that an
         * answer older than one does not clear it. */
        uint64_t suspect_gen;
        /* Broadcast (with lock) whenever an exit is recorded. */
        pthread_cond_t exited;
        /* Where lifecycle changes go for GetContainerEvents; NULL: nowhere. */
        struct ctr_events *events;
};

static struct entry *entry_of(struct container *ctr)
{
        return container_of(ctr, struct entry, pub);
}

static void entry_free(struct entry *e)
{
        if (!e)
                return;
        if (e->pub.config)
                runtime__v1__container_config__free_unpacked(e->pub.config, NULL);
        free(e->pub.image_id);
        free(e->pub.image_ref);
        free(e->pub.log_path);
        free(e->pub.runtime_handler);
        free(e->pub.groups);
        free(e->resources_hex);
        pthread_mutex_destroy(&e->op_lock);
        pthread_mutex_destroy(&e->rec_lock);
        free(e);
}

static struct entry *entry_new(void)
{
        struct entry *e = calloc(1, sizeof(*e));

        if (!e)
                return NULL;
        pthread_mutex_init(&e->op_lock, NULL);
        pthread_mutex_init(&e->rec_lock, NULL);
        return e;
}

void container_unref(struct containers *c, struct container *ctr)
{
        struct entry *e;
        bool last;

        if (!ctr)
                return;
        e = entry_of(ctr);
        pthread_mutex_lock(&c->lock);
        last = --e->refs == 0;
        pthread_mutex_unlock(&c->lock);
        if (last)
                entry_free(e);
}

static int64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static bool valid_id(const char *id)
{
        size_t n = strspn(id, "0123456789abcdef");

        return n == CTR_ID_LEN && id[n] == '\0';
}

/* ---- records ------------------------------------------------------------ */

static const char *state_name(enum ctr_state s)
{
        switch (s) {
        case CTR_CREATED:
                return "created";
        case CTR_RUNNING:
                return "running";
        default:
                return "exited";
        }
}

static void record_name(const char *id, char *buf, size_t size)
{
        snprintf(buf, size, "%s" RECORD_SUFFIX, id);
}

/* A message packed and hex-encoded, as the record keeps it. */
static char *message_hex(const ProtobufCMessage *m)
{
        size_t len = protobuf_c_message_get_packed_size(m);
        _cleanup_free_ uint8_t *packed = malloc(len ? len : 1);
        char *hex = malloc(2 * len + 1);

        if (!packed || !hex) {
                free(hex);
                return NULL;
        }
        protobuf_c_message_pack(m, packed);
        digest_hex_encode(packed, len, hex);
        return hex;
}

static char *config_hex(const Runtime__V1__ContainerConfig *config)
{
        return message_hex(&config->base);
}

static json_t *record_json(const struct entry *e, const struct ctr_status *s, const char *state,
                           const char *resources_hex)
{
        const struct container *ctr = &e->pub;
        _cleanup_free_ char *hex = config_hex(ctr->config);
        json_t *o;

        if (!hex)
                return NULL;
        o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:i, s:I, s:s, s:s, s:s, s:s, s:s, s:s, "
                      "s:i, s:s}",
                      "id", ctr->id, "podId", ctr->pod_id, "state", state, "createdAt",
                      (json_int_t)ctr->created_at, "startedAt", (json_int_t)s->started_at,
                      "finishedAt", (json_int_t)s->finished_at, "exitCode", (int)s->exit_code,
                      "pid", (json_int_t)s->pid, "reason", s->reason, "message", s->message,
                      "imageId", ctr->image_id, "imageRef", ctr->image_ref, "logPath",
                      ctr->log_path, "runtimeHandler", ctr->runtime_handler, "stopSignal",
                      ctr->stop_signal, "config", hex);
        if (o && resources_hex &&
            json_object_set_new(o, "resources", json_string(resources_hex)) < 0) {
                json_decref(o);
                return NULL;
        }
        if (o && ctr->has_user) {
                json_t *groups = json_array();

                for (size_t i = 0; groups && i < ctr->n_groups; i++)
                        json_array_append_new(groups, json_integer(ctr->groups[i]));
                if (!groups || json_object_set_new(
                                   o, "user",
                                   json_pack("{s:I, s:I, s:o}", "uid", (json_int_t)ctr->uid, "gid",
                                             (json_int_t)ctr->gid, "groups", groups)) < 0) {
                        json_decref(o);
                        return NULL;
                }
        }
        return o;
}

/* A record's "user" into e; absent is no user. */
static int user_parse(json_t *user, struct entry *e)
{
        json_int_t uid, gid;
        json_t *groups, *g;
        size_t i;

        if (!user)
                return 0;
        if (json_unpack(user, "{s:I, s:I, s:o}", "uid", &uid, "gid", &gid, "groups", &groups) < 0 ||
            !json_is_array(groups) || uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX ||
            json_array_size(groups) > BRIG_HELPER_MAX_GROUPS)
                return -EINVAL;
        e->pub.groups = calloc(json_array_size(groups) + 1, sizeof(*e->pub.groups));
        if (!e->pub.groups)
                return -ENOMEM;
        json_array_foreach(groups, i, g)
        {
                json_int_t v = json_integer_value(g);
                if (!json_is_integer(g) || v < 0 || v > UINT32_MAX)
                        return -EINVAL;
                e->pub.groups[e->pub.n_groups++] = (uint32_t)v;
        }
        e->pub.has_user = true;
        e->pub.uid = (uint32_t)uid;
        e->pub.gid = (uint32_t)gid;
        return 0;
}

/* Writes e's record from its newest status; state, when not NULL, is
 * written instead of the status' own (a record that runs ahead of a
 * helper call). Nothing is written for a removed container. */
static int record_write(struct containers *c, struct entry *e, const char *state)
{
        _cleanup_free_ char *text = NULL, *resources = NULL;
        struct ctr_status s;
        char name[CTR_ID_LEN + 16];
        bool removed, creating, starting;
        json_t *o;
        int r;

        pthread_mutex_lock(&e->rec_lock);
        pthread_mutex_lock(&c->lock);
        s = e->status;
        removed = e->removed;
        creating = e->creating;
        starting = e->starting;
        resources = e->resources_hex ? strdup(e->resources_hex) : NULL;
        pthread_mutex_unlock(&c->lock);
        if (removed) {
                pthread_mutex_unlock(&e->rec_lock);
                return 0;
        }
        o = record_json(e, &s,
                        state      ? state
                        : creating ? "creating"
                        : starting ? "starting"
                                   : state_name(s.state),
                        resources);
        text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        record_name(e->pub.id, name, sizeof(name));
        r = text ? recfile_write(c->dir_fd, name, text, strlen(text)) : -ENOMEM;
        pthread_mutex_unlock(&e->rec_lock);
        return r;
}

/* A message back from the record's hex; NULL when it does not decode. */
static ProtobufCMessage *message_unhex(const ProtobufCMessageDescriptor *desc, const char *hex)
{
        _cleanup_free_ uint8_t *packed = NULL;
        size_t len = 0;

        if (digest_hex_decode(hex, &packed, &len) < 0)
                return NULL;
        return protobuf_c_message_unpack(desc, NULL, len, packed);
}

static Runtime__V1__ContainerConfig *config_unhex(const char *hex)
{
        return (Runtime__V1__ContainerConfig *)message_unhex(
            &runtime__v1__container_config__descriptor, hex);
}

/* A record's state into e: "creating" and "starting" are a created
 * container with a helper call a crash may have cut short. */
static int state_parse(const char *s, struct entry *e)
{
        static const struct {
                const char *name;
                enum ctr_state state;
        } states[] = {{"creating", CTR_CREATED},
                      {"created", CTR_CREATED},
                      {"starting", CTR_CREATED},
                      {"running", CTR_RUNNING},
                      {"exited", CTR_EXITED}};

        for (size_t i = 0; i < ARRAY_SIZE(states); i++)
                if (strcmp(s, states[i].name) == 0) {
                        e->status.state = states[i].state;
                        e->creating = i == 0;
                        e->starting = i == 2;
                        return 0;
                }
        return -EINVAL;
}

/* Parses one record into an entry (not in the table). */
static int record_parse(const char *text, size_t len, const char *name, struct entry **ret,
                        char *err, size_t err_size)
{
        json_error_t jerr;
        json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        const char *id, *pod_id, *state, *reason, *message, *image_id, *image_ref, *log_path,
            *handler, *hex, *resources = NULL;
        json_int_t created_at, started_at, finished_at, pid;
        json_t *user = NULL;
        int exit_code, stop_signal, r = -EINVAL;
        char expected[CTR_ID_LEN + 16];
        struct entry *e = NULL;

        if (!o)
                return errbuf_fail(err, err_size, -EINVAL, "not JSON: %s", jerr.text);
        if (json_unpack_ex(o, &jerr, JSON_STRICT,
                           "{s:s, s:s, s:s, s:I, s:I, s:I, s:i, s:I, s:s, s:s, s:s, s:s, s:s, "
                           "s:s, s:i, s:s, s?:s, s?:o}",
                           "id", &id, "podId", &pod_id, "state", &state, "createdAt", &created_at,
                           "startedAt", &started_at, "finishedAt", &finished_at, "exitCode",
                           &exit_code, "pid", &pid, "reason", &reason, "message", &message,
                           "imageId", &image_id, "imageRef", &image_ref, "logPath", &log_path,
                           "runtimeHandler", &handler, "stopSignal", &stop_signal, "config", &hex,
                           "resources", &resources, "user", &user) < 0) {
                errbuf_fail(err, err_size, -EINVAL, "%s", jerr.text);
                goto out;
        }
        record_name(id, expected, sizeof(expected));
        if (!valid_id(id) || strcmp(expected, name) != 0 || !valid_id(pod_id)) {
                errbuf_fail(err, err_size, -EINVAL,
                            "holds container \"%.80s\" of pod \"%.80s\" under another name", id,
                            pod_id);
                goto out;
        }
        e = entry_new();
        if (!e) {
                r = errbuf_fail(err, err_size, -ENOMEM, "out of memory");
                goto out;
        }
        if (state_parse(state, e) < 0 || pid < 0 || pid > UINT32_MAX || stop_signal < 1 ||
            stop_signal > BRIG_HELPER_MAX_SIGNAL || user_parse(user, e) < 0) {
                errbuf_fail(err, err_size, -EINVAL, "bad state, pid, stopSignal or user");
                goto out;
        }
        snprintf(e->pub.id, sizeof(e->pub.id), "%s", id);
        snprintf(e->pub.pod_id, sizeof(e->pub.pod_id), "%s", pod_id);
        e->pub.created_at = created_at;
        e->pub.stop_signal = stop_signal;
        e->status.started_at = started_at;
        e->status.finished_at = finished_at;
        e->status.exit_code = exit_code;
        e->status.pid = (uint32_t)pid;
        snprintf(e->status.reason, sizeof(e->status.reason), "%s", reason);
        snprintf(e->status.message, sizeof(e->status.message), "%s", message);
        e->pub.image_id = strdup(image_id);
        e->pub.image_ref = strdup(image_ref);
        e->pub.log_path = strdup(log_path);
        e->pub.runtime_handler = strdup(handler);
        e->pub.config = config_unhex(hex);
        if (resources) {
                ProtobufCMessage *m =
                    message_unhex(&runtime__v1__linux_container_resources__descriptor, resources);
                if (!m) {
                        errbuf_fail(err, err_size, -EINVAL, "the resources do not decode");
                        goto out;
                }
                protobuf_c_message_free_unpacked(m, NULL);
                e->resources_hex = strdup(resources);
        }
        if ((resources && !e->resources_hex) || !e->pub.image_id || !e->pub.image_ref ||
            !e->pub.log_path || !e->pub.runtime_handler || !e->pub.config ||
            !e->pub.config->metadata) {
                errbuf_fail(err, err_size, -EINVAL, "the config does not decode");
                goto out;
        }
        *ret = TAKE_PTR(e);
        r = 0;
out:
        entry_free(e);
        json_decref(o);
        return r;
}

/* ---- the table ---------------------------------------------------------- */

/* Adds e with the table's reference; the caller holds the lock. */
static int table_add(struct containers *c, struct entry *e)
{
        if (c->n == c->cap) {
                size_t cap = c->cap ? 2 * c->cap : 16;
                struct entry **v = realloc(c->v, cap * sizeof(*v));

                if (!v)
                        return -ENOMEM;
                c->v = v;
                c->cap = cap;
        }
        e->refs++;
        c->v[c->n++] = e;
        return 0;
}

/* Takes e out of the table (marked removed) and drops the table's
 * reference; the caller holds a reference of its own. */
static void table_drop(struct containers *c, struct entry *e)
{
        pthread_mutex_lock(&c->lock);
        for (size_t i = 0; i < c->n; i++)
                if (c->v[i] == e) {
                        c->v[i] = c->v[--c->n];
                        e->removed = true;
                        e->refs--;
                        break;
                }
        pthread_mutex_unlock(&c->lock);
}

/* ---- exits -------------------------------------------------------------- */

static int32_t exit_code_of(uint32_t wait_status)
{
        int ws = (int)wait_status;

        if (WIFEXITED(ws))
                return WEXITSTATUS(ws);
        if (WIFSIGNALED(ws))
                return 128 + WTERMSIG(ws);
        return EXIT_UNKNOWN;
}

/* Makes e exited (recorded) with code at finished_at; reason NULL is CRI's
 * for the code. A created e is only made exited at open, by recovery. */
static void apply_exit(struct containers *c, struct entry *e, int32_t code, int64_t finished_at,
                       const char *reason, const char *message)
{
        bool was_exited;
        int r;

        if (!reason)
                reason = code == 0 ? "Completed" : "Error";
        pthread_mutex_lock(&c->lock);
        was_exited = e->status.state == CTR_EXITED;
        if (!was_exited) {
                e->status.state = CTR_EXITED;
                e->status.exit_code = code;
                e->status.finished_at = finished_at;
                snprintf(e->status.reason, sizeof(e->status.reason), "%s", reason);
                snprintf(e->status.message, sizeof(e->status.message), "%s", message);
                pthread_cond_broadcast(&c->exited);
        }
        pthread_mutex_unlock(&c->lock);
        if (was_exited)
                return;
        log_info("container exited", "ctr=%s pod=%s exit_code=%" PRId32 " reason=%s", e->pub.id,
                 e->pub.pod_id, code, reason);
        r = record_write(c, e, NULL);
        if (r < 0)
                log_error_errno(r,
                                "cannot record a container's exit; it is seen again at the "
                                "next start",
                                "ctr=%s", e->pub.id);
        ctr_events_emit(c->events, e->pub.id, e->pub.pod_id,
                        RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STOPPED_EVENT, finished_at);
}

#define MESSAGE_FORGOTTEN                                                                          \
        "brig-helper no longer knows the container: the node restarted, or its removal was "       \
        "cut short"
#define MESSAGE_LOST                                                                               \
        "its init ended with no exit recorded (was the pod's monitor killed?); finishedAt is "     \
        "when brigd first saw it gone"

/* Asks the helper about e and records what its answer settles: an exit
 * the monitor recorded, or none possible any more. */
static void ask(struct containers *c, uint64_t call_id, struct entry *e)
{
        struct helper_ctr_status st;
        char why[512];
        bool lost;
        int64_t lost_at;
        uint64_t gen;
        int r;

        pthread_mutex_lock(&c->lock);
        gen = c->suspect_gen;
        pthread_mutex_unlock(&c->lock);
        r = helper_client_ctr_status(c->helper, call_id, e->pub.id, &st, why, sizeof(why));

        if (r == -ENOENT) {
                apply_exit(c, e, EXIT_UNKNOWN, now_ns(), REASON_UNKNOWN, MESSAGE_FORGOTTEN);
                return;
        }
        if (r < 0) {
                log_warn("cannot ask brig-helper for a container's state; it keeps the one it "
                         "had",
                         "call=%" PRIu64 " ctr=%s reason=\"%s\"", call_id, e->pub.id, why);
                return;
        }
        if (st.exited) {
                apply_exit(c, e, exit_code_of(st.wait_status),
                           st.exit_time ? (int64_t)st.exit_time : now_ns(),
                           st.oom_killed ? REASON_OOM : NULL, "");
                return;
        }
        /* Neither running nor an exit: the monitor reaps it and writes the
         * exit at once, unless the monitor is gone; then the exit can never
         * be known, and waiting for it forever would keep the container
         * running in CRI's eyes (and its stop failing). */
        pthread_mutex_lock(&c->lock);
        if (st.has_pid)
                e->status.pid = st.pid;
        /* Its exit will be an event when its monitor is there, unless an
         * event that could have been about it was lost since the question. */
        if (!st.monitor)
                e->suspect = true;
        else if (st.running && gen == c->suspect_gen)
                e->suspect = false;
        if (st.running) {
                e->lost = false;
        } else if (!e->lost) {
                e->lost = true;
                e->lost_since_ms = clock_monotonic_ms();
                e->lost_at = now_ns();
        }
        lost = e->lost && (!st.monitor || clock_monotonic_ms() - e->lost_since_ms >= LOST_GRACE_MS);
        lost_at = e->lost_at;
        pthread_mutex_unlock(&c->lock);
        if (lost)
                apply_exit(c, e, EXIT_UNKNOWN, lost_at, REASON_UNKNOWN, MESSAGE_LOST);
}

/* Asks the helper about a container believed running, unless its exit
 * will come as an event, and records its exit once there is one (see
 * ask()). */
static void refresh(struct containers *c, uint64_t call_id, struct entry *e)
{
        bool wanted;

        pthread_mutex_lock(&c->lock);
        wanted = e->status.state == CTR_RUNNING && (!c->events_live || e->suspect);
        pthread_mutex_unlock(&c->lock);
        if (wanted && c->helper)
                ask(c, call_id, e);
}

/* Whether the helper last said e's init is gone with no exit recorded
 * (the exit is then waited for, or given up on, by ask()). */
static bool init_lost(struct containers *c, struct entry *e)
{
        bool r;

        pthread_mutex_lock(&c->lock);
        r = e->lost;
        pthread_mutex_unlock(&c->lock);
        return r;
}

void containers_status(struct containers *c, uint64_t call_id, struct container *ctr,
                       struct ctr_status *ret)
{
        struct entry *e = entry_of(ctr);

        refresh(c, call_id, e);
        pthread_mutex_lock(&c->lock);
        *ret = e->status;
        pthread_mutex_unlock(&c->lock);
}

static enum ctr_state state_of(struct containers *c, struct entry *e)
{
        enum ctr_state s;

        pthread_mutex_lock(&c->lock);
        s = e->status.state;
        pthread_mutex_unlock(&c->lock);
        return s;
}

/* ---- open and close ----------------------------------------------------- */

static void set_aside(struct containers *c, const char *name, const char *why)
{
        char corrupt[512];

        snprintf(corrupt, sizeof(corrupt), "%s.corrupt", name);
        log_error("a container record cannot be read; it is set aside",
                  "file=%s reason=\"%s\" renamed_to=%s", name, why, corrupt);
        renameat(c->dir_fd, name, c->dir_fd, corrupt);
}

/* Deletes a container a crash left half-created: kubelet never got its
 * id, so it is nobody's. The helper may still be creating it for the
 * brigd that died (it refuses the delete with -EBUSY until then). */
static void undo_crashed_create(struct containers *c, struct entry *e, const char *name)
{
        char why[512] = "";
        int r = c->helper ? helper_client_ctr_delete(c->helper, 0, e->pub.id, why, sizeof(why))
                          : -ENOTCONN;

        for (int waited = 0; r == -EBUSY && waited < BUSY_WAIT_MS; waited += POLL_MS) {
                sleep_ms(POLL_MS);
                r = helper_client_ctr_delete(c->helper, 0, e->pub.id, why, sizeof(why));
        }
        if (r == 0)
                r = recfile_delete(c->dir_fd, name);
        if (r < 0)
                log_error_errno(r,
                                "cannot clean up a container left half-created; retried at the "
                                "next start",
                                "ctr=%s reason=\"%s\"", e->pub.id, why);
        else
                log_info("removed a container left half-created by a crash", "ctr=%s", e->pub.id);
}

static void load_record(struct containers *c, const char *name)
{
        _cleanup_free_ char *text = NULL;
        struct entry *e = NULL;
        char err[512] = "";
        size_t len = 0;
        int r = recfile_read(c->dir_fd, name, CTR_RECORD_MAX, &text, &len, err, sizeof(err));

        if (r == 0)
                r = record_parse(text, len, name, &e, err, sizeof(err));
        if (r < 0)
                return set_aside(c, name, err);
        if (e->creating) {
                undo_crashed_create(c, e, name);
                entry_free(e);
                return;
        }
        if (table_add(c, e) < 0) {
                log_error("out of memory loading container records", "ctr=%s", e->pub.id);
                entry_free(e);
        }
}

/* A crash left the record "starting": whether CTR_START reached the
 * runtime is unknown, and CTR_STATUS cannot tell, since a created
 * container's init runs too (blocked until its start). Starting it again
 * settles it: the runtime refuses, harmlessly, to start a container a
 * second time, so afterwards it has been started either way, as kubelet
 * asked, and is recorded running; ask() then learns whether it already
 * ended (or is gone). */
static void finish_crashed_start(struct containers *c, struct entry *e)
{
        char why[512] = "";
        int r = helper_client_ctr_start(c->helper, 0, e->pub.id, why, sizeof(why));

        if (r < 0)
                log_info("a start cut short by a crash was not repeated: the runtime had it "
                         "already, or the container is gone",
                         "ctr=%s reason=\"%s\"", e->pub.id, why);
        pthread_mutex_lock(&c->lock);
        e->starting = false;
        e->status.state = CTR_RUNNING;
        pthread_mutex_unlock(&c->lock);
        r = record_write(c, e, NULL);
        if (r < 0)
                log_error_errno(r,
                                "cannot record a start finished at open; its record says starting",
                                "ctr=%s", e->pub.id);
        ask(c, 0, e);
}

/* Brings a loaded record in line with the helper's state. A created
 * container the helper no longer knows (the node restarted) or whose init
 * has ended (killed before its start) can never start: it is recorded
 * exited, as a running one would be. */
static void recover(struct containers *c, struct entry *e)
{
        if (e->starting)
                finish_crashed_start(c, e);
        else if (e->status.state != CTR_EXITED)
                ask(c, 0, e);
}

/* ---- events -------------------------------------------------------------- */

static struct entry *find_locked(struct containers *c, const char *id)
{
        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->v[i]->pub.id, id) == 0)
                        return c->v[i];
        return NULL;
}

/* The helper's events (helper_client_watch_events(): on the channel's
 * reader, so nothing here calls the helper). An exit of a running
 * container is recorded at once; anything that may hide an exit makes
 * the containers concerned suspect, asked about when next wanted. */
static void on_helper_event(void *arg, enum helper_events_what what, const struct ctr_event *ev)
{
        struct containers *c = arg;
        struct entry *e = NULL;

        pthread_mutex_lock(&c->lock);
        switch (what) {
        case HELPER_EVENTS_STOPPED:
                c->events_live = false;
                break;
        case HELPER_EVENTS_LOST:
                c->suspect_gen++;
                for (size_t i = 0; i < c->n; i++)
                        c->v[i]->suspect = true;
                break;
        case HELPER_EVENTS_EVENT:
                if (ev->kind == BRIG_EVENT_MONITOR_GONE) {
                        c->suspect_gen++;
                        for (size_t i = 0; i < c->n; i++)
                                if (strcmp(c->v[i]->pub.pod_id, ev->pod_id) == 0)
                                        c->v[i]->suspect = true;
                        log_warn("a pod's monitor went away; its containers are asked about",
                                 "pod=%s", ev->pod_id);
                        break;
                }
                e = find_locked(c, ev->ctr_id);
                if (!e)
                        break;
                if (e->status.state != CTR_RUNNING || e->starting) {
                        /* its start is still being recorded */
                        c->suspect_gen++;
                        e->suspect = true;
                        e = NULL;
                        break;
                }
                e->refs++;
                break;
        }
        pthread_mutex_unlock(&c->lock);
        if (!e)
                return;
        apply_exit(c, e, exit_code_of(ev->wait_status), ev->time ? (int64_t)ev->time : now_ns(),
                   ev->flags & BRIG_EVENT_F_OOM_KILLED ? REASON_OOM : NULL, "");
        container_unref(c, &e->pub);
}

static bool is_record(const char *name)
{
        size_t n = strlen(name), s = strlen(RECORD_SUFFIX);

        return n > s && strcmp(name + n - s, RECORD_SUFFIX) == 0;
}

int containers_open(const struct brig_config *config, struct helper_client *helper,
                    struct pods *pods, struct containers **ret, char *err, size_t err_size)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct containers *c = calloc(1, sizeof(*c));
        struct dirent *de;
        size_t running = 0;

        if (!c)
                return -ENOMEM;
        c->helper = helper;
        c->pods = pods;
        c->dir_fd = -1;
        pthread_condattr_t attr;

        pthread_mutex_init(&c->lock, NULL);
        /* wait_exit()'s deadlines are CLOCK_MONOTONIC's */
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&c->exited, &attr);
        pthread_condattr_destroy(&attr);
        pthread_rwlock_init(&c->create_lock, NULL);
        if (asprintf(&dir, "%s/" PODS_DIR, config->root) < 0) {
                dir = NULL;
                containers_close(c);
                return -ENOMEM;
        }
        c->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        d = c->dir_fd >= 0 ? opendir_at(c->dir_fd) : NULL;
        if (!d) {
                int r = errbuf_fail(err, err_size, negative_errno(),
                                    "cannot open the container records directory %s: %m", dir);
                containers_close(c);
                return r;
        }
        while ((de = readdir(d)))
                if (!recfile_is_temp(de->d_name) && is_record(de->d_name))
                        load_record(c, de->d_name);
        /* Subscribed before anything is asked, so that no exit falls
         * between an answer and the first event. */
        if (c->helper) {
                int r = helper_client_watch_events(c->helper, on_helper_event, c);
                if (r < 0)
                        log_error_errno(r,
                                        "cannot subscribe to brig-helper's container events; "
                                        "exits are learnt by asking",
                                        NULL);
                c->events_live = r == 0;
        }
        /* One at a time: nothing else runs yet but the events. */
        for (size_t i = 0; i < c->n; i++) {
                if (c->helper)
                        recover(c, c->v[i]);
                running += c->v[i]->status.state == CTR_RUNNING;
        }
        log_info("container records loaded", "dir=%s containers=%zu running=%zu", dir, c->n,
                 running);
        *ret = c;
        return 0;
}

void containers_set_events(struct containers *c, struct ctr_events *events)
{
        c->events = events;
}

void containers_close(struct containers *c)
{
        if (!c)
                return;
        helper_client_unwatch_events(c->helper);
        for (size_t i = 0; i < c->n; i++)
                if (--c->v[i]->refs == 0)
                        entry_free(c->v[i]);
        free(c->v);
        safe_close(c->dir_fd);
        pthread_rwlock_destroy(&c->create_lock);
        pthread_cond_destroy(&c->exited);
        pthread_mutex_destroy(&c->lock);
        free(c);
}

/* ---- finding ------------------------------------------------------------ */

int containers_get(struct containers *c, const char *ref, struct container **ret, char *err,
                   size_t err_size)
{
        size_t len = strlen(ref), matches = 0;
        struct entry *found = NULL;

        if (len == 0)
                return errbuf_fail(err, err_size, -ENOENT, "no container id given");
        pthread_mutex_lock(&c->lock);
        for (size_t i = 0; i < c->n; i++) {
                struct entry *e = c->v[i];

                if (e->creating || strncmp(e->pub.id, ref, len) != 0)
                        continue;
                found = e;
                if (len == CTR_ID_LEN) {
                        matches = 1;
                        break;
                }
                matches++;
        }
        if (matches == 1)
                found->refs++;
        pthread_mutex_unlock(&c->lock);
        if (matches == 0)
                return errbuf_fail(err, err_size, -ENOENT, "container %.80s not found", ref);
        if (matches > 1)
                return errbuf_fail(err, err_size, -EINVAL,
                                   "container id prefix %.80s matches %zu containers", ref,
                                   matches);
        *ret = &found->pub;
        return 0;
}

static int newest_first(const void *a, const void *b)
{
        const struct container *x = *(struct container *const *)a;
        const struct container *y = *(struct container *const *)b;

        return x->created_at < y->created_at ? 1 : x->created_at > y->created_at ? -1 : 0;
}

int containers_list(struct containers *c, struct container ***ret, size_t *ret_n)
{
        struct container **v;
        size_t n = 0;

        pthread_mutex_lock(&c->lock);
        v = calloc(c->n ? c->n : 1, sizeof(*v));
        for (size_t i = 0; v && i < c->n; i++)
                if (!c->v[i]->creating) {
                        c->v[i]->refs++;
                        v[n++] = &c->v[i]->pub;
                }
        pthread_mutex_unlock(&c->lock);
        if (!v)
                return -ENOMEM;
        qsort(v, n, sizeof(*v), newest_first);
        *ret = v;
        *ret_n = n;
        return 0;
}

void containers_list_free(struct containers *c, struct container **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                container_unref(c, v[i]);
        free(v);
}

/* The pod's listed containers, referenced. */
static int pod_entries(struct containers *c, const char *pod_id, struct entry ***ret, size_t *ret_n)
{
        struct entry **v;
        size_t n = 0;

        pthread_mutex_lock(&c->lock);
        v = calloc(c->n ? c->n : 1, sizeof(*v));
        for (size_t i = 0; v && i < c->n; i++)
                if (!c->v[i]->creating && strcmp(c->v[i]->pub.pod_id, pod_id) == 0) {
                        c->v[i]->refs++;
                        v[n++] = c->v[i];
                }
        pthread_mutex_unlock(&c->lock);
        if (!v)
                return -ENOMEM;
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- create ------------------------------------------------------------- */

void containers_create_begin(struct containers *c)
{
        pthread_rwlock_rdlock(&c->create_lock);
}

void containers_create_end(struct containers *c)
{
        pthread_rwlock_unlock(&c->create_lock);
}

static bool same_name(const Runtime__V1__ContainerMetadata *a,
                      const Runtime__V1__ContainerMetadata *b)
{
        return strcmp(a->name, b->name) == 0 && a->attempt == b->attempt;
}

/* The container in pod_id named as m, or NULL; the caller holds the lock. */
static struct entry *find_name(struct containers *c, const char *pod_id,
                               const Runtime__V1__ContainerMetadata *m)
{
        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->v[i]->pub.pod_id, pod_id) == 0 &&
                    same_name(c->v[i]->pub.config->metadata, m))
                        return c->v[i];
        return NULL;
}

static int name_taken(const char *pod_id, const Runtime__V1__ContainerMetadata *m,
                      const struct entry *e, char *err, size_t err_size)
{
        return errbuf_fail(err, err_size, -EEXIST,
                           "container %s (attempt %" PRIu32 ") exists already in pod %s as %s",
                           m->name, m->attempt, pod_id, e->pub.id);
}

int containers_name_check(struct containers *c, const char *pod_id,
                          const Runtime__V1__ContainerMetadata *m, char *err, size_t err_size)
{
        int r = 0;

        pthread_mutex_lock(&c->lock);
        struct entry *e = find_name(c, pod_id, m);
        if (e)
                r = name_taken(pod_id, m, e, err, err_size);
        pthread_mutex_unlock(&c->lock);
        return r;
}

static int new_id(char id[static CTR_ID_LEN + 1])
{
        uint8_t raw[CTR_ID_LEN / 2];

        if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
                return -EIO;
        digest_hex_encode(raw, sizeof(raw), id);
        return 0;
}

/* An entry of our own for the request, not yet in the table. */
static int entry_make(const struct pod *pod, const struct ctr_create *req, struct entry **ret)
{
        size_t len = protobuf_c_message_get_packed_size(&req->config->base);
        _cleanup_free_ uint8_t *packed = malloc(len ? len : 1);
        struct entry *e = entry_new();

        if (!packed || !e) {
                entry_free(e);
                return -ENOMEM;
        }
        protobuf_c_message_pack(&req->config->base, packed);
        e->pub.config = runtime__v1__container_config__unpack(NULL, len, packed);
        e->pub.image_id = strdup(req->image_id);
        e->pub.image_ref = strdup(req->image_ref);
        e->pub.log_path = strdup(req->log_path);
        e->pub.runtime_handler = strdup(pod->runtime_handler);
        if (!e->pub.config || !e->pub.image_id || !e->pub.image_ref || !e->pub.log_path ||
            !e->pub.runtime_handler || new_id(e->pub.id) < 0) {
                entry_free(e);
                return -ENOMEM;
        }
        memcpy(e->pub.pod_id, pod->id, sizeof(e->pub.pod_id));
        e->pub.created_at = now_ns();
        e->pub.stop_signal = req->stop_signal;
        e->status.state = CTR_CREATED;
        e->creating = true;
        *ret = e;
        return 0;
}

/* Puts e in the table unless its name is taken in its pod. */
static int reserve(struct containers *c, struct entry *e, char *err, size_t err_size)
{
        const Runtime__V1__ContainerMetadata *m = e->pub.config->metadata;
        struct entry *other;
        int r = 0;

        pthread_mutex_lock(&c->lock);
        other = find_name(c, e->pub.pod_id, m);
        if (other)
                r = name_taken(e->pub.pod_id, m, other, err, err_size);
        else if (c->n >= CONTAINERS_MAX)
                r = errbuf_fail(err, err_size, -ENOSPC, "brigd holds %d containers already",
                                CONTAINERS_MAX);
        else
                r = table_add(c, e);
        pthread_mutex_unlock(&c->lock);
        return r;
}

/* Undoes a failed create: the helper's container (if any), the record,
 * the table's entry. */
static void undo_create(struct containers *c, uint64_t call_id, struct entry *e)
{
        char why[512] = "", name[CTR_ID_LEN + 16];
        int r = helper_client_ctr_delete(c->helper, call_id, e->pub.id, why, sizeof(why));

        record_name(e->pub.id, name, sizeof(name));
        if (r == 0) {
                r = recfile_delete(c->dir_fd, name);
                snprintf(why, sizeof(why), "cannot delete its record");
        }
        if (r < 0)
                log_error_errno(r, "cannot undo a failed CreateContainer; the next start retries",
                                "call=%" PRIu64 " ctr=%s reason=\"%s\"", call_id, e->pub.id, why);
        table_drop(c, e);
}

int containers_create(struct containers *c, uint64_t call_id, struct pod *pod,
                      const struct ctr_create *req, char id[static CTR_ID_LEN + 1], char *err,
                      size_t err_size)
{
        struct entry *e = NULL;
        struct helper_ctr_created created;
        int r;

        if (!c->helper)
                return errbuf_fail(err, err_size, -ENOTCONN,
                                   "brigd runs without brig-helper: containers cannot be created");
        if (pod_state(c->pods, pod) != POD_READY)
                return errbuf_fail(err, err_size, -EBUSY, "pod sandbox %s is not ready", pod->id);
        r = entry_make(pod, req, &e);
        if (r < 0)
                return errbuf_fail(err, err_size, r, "out of memory");
        r = reserve(c, e, err, err_size);
        if (r < 0) {
                entry_free(e);
                return r;
        }
        /* The table holds e now; this reference is ours until the end. */
        pthread_mutex_lock(&c->lock);
        e->refs++;
        pthread_mutex_unlock(&c->lock);
        r = record_write(c, e, NULL);
        if (r < 0) {
                errbuf_fail(err, err_size, r, "container %s: cannot write its record: %s",
                            e->pub.id, strerror(-r));
                table_drop(c, e);
                goto out;
        }
        crashpoint(CRASH_CTR_RECORDED);
        struct helper_ctr_create hreq = {
            .pod_id = pod->id,
            .ctr_id = e->pub.id,
            .spec = req->spec,
            .spec_len = req->spec_len,
            .runtime_handler = pod->runtime_handler,
        };
        r = helper_client_ctr_create(c->helper, call_id, &hreq, &created, err, err_size);
        if (r == 0 && created.has_user) {
                /* not listed yet: nobody else reads these */
                e->pub.groups = calloc(created.n_groups + 1, sizeof(*e->pub.groups));
                if (!e->pub.groups)
                        r = errbuf_fail(err, err_size, -ENOMEM, "out of memory");
                else {
                        memcpy(e->pub.groups, created.groups,
                               created.n_groups * sizeof(*e->pub.groups));
                        e->pub.n_groups = created.n_groups;
                        e->pub.uid = created.uid;
                        e->pub.gid = created.gid;
                        e->pub.has_user = true;
                }
        }
        if (r == 0) {
                crashpoint(CRASH_CTR_CREATED);
                pthread_mutex_lock(&c->lock);
                e->status.pid = created.pid;
                pthread_mutex_unlock(&c->lock);
                r = record_write(c, e, "created");
                if (r < 0)
                        errbuf_fail(err, err_size, r, "container %s: cannot write its record: %s",
                                    e->pub.id, strerror(-r));
        }
        if (r < 0) {
                undo_create(c, call_id, e);
                goto out;
        }
        pthread_mutex_lock(&c->lock);
        e->creating = false;
        pthread_mutex_unlock(&c->lock);
        crashpoint(CRASH_CTR_CREATED_RECORDED);
        ctr_events_emit(c->events, e->pub.id, e->pub.pod_id,
                        RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_CREATED_EVENT,
                        e->pub.created_at);
        memcpy(id, e->pub.id, CTR_ID_LEN + 1);
        log_info("container created", "call=%" PRIu64 " ctr=%s pod=%s name=%s pid=%" PRIu32,
                 call_id, e->pub.id, pod->id, req->config->metadata->name, created.pid);
out:
        container_unref(c, &e->pub);
        return r;
}

/* ---- start, stop, remove ------------------------------------------------ */

/* Finds ref and takes its op_lock. Returns 1 with the entry referenced and
 * locked, 0 for a container not there (any more), or a negative errno. */
static int op_begin(struct containers *c, const char *ref, struct entry **ret, char *err,
                    size_t err_size)
{
        struct container *ctr = NULL;
        struct entry *e;
        bool gone;
        int r;

        if (!c->helper)
                return errbuf_fail(err, err_size, -ENOTCONN,
                                   "brigd runs without brig-helper: containers cannot be changed");
        r = containers_get(c, ref, &ctr, err, err_size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        e = entry_of(ctr);
        pthread_mutex_lock(&e->op_lock);
        pthread_mutex_lock(&c->lock);
        gone = e->removed;
        pthread_mutex_unlock(&c->lock);
        if (gone) {
                pthread_mutex_unlock(&e->op_lock);
                container_unref(c, ctr);
                return 0;
        }
        *ret = e;
        return 1;
}

static void op_end(struct containers *c, struct entry *e)
{
        pthread_mutex_unlock(&e->op_lock);
        container_unref(c, &e->pub);
}

static bool pod_ready(struct containers *c, const char *pod_id)
{
        struct pod *pod = NULL;
        char why[256];
        bool ready;

        if (pods_get(c->pods, pod_id, &pod, why, sizeof(why)) < 0)
                return false;
        ready = pod_state(c->pods, pod) == POD_READY;
        pod_unref(c->pods, pod);
        return ready;
}

static int start_locked(struct containers *c, uint64_t call_id, struct entry *e, char *err,
                        size_t err_size)
{
        enum ctr_state s = state_of(c, e);
        int r;

        if (s != CTR_CREATED)
                return errbuf_fail(err, err_size, -EBUSY,
                                   "container %s is %s; only a created container starts", e->pub.id,
                                   state_name(s));
        if (!pod_ready(c, e->pub.pod_id))
                return errbuf_fail(err, err_size, -EBUSY,
                                   "container %s: its pod sandbox %s is not ready", e->pub.id,
                                   e->pub.pod_id);
        pthread_mutex_lock(&c->lock);
        e->status.started_at = now_ns();
        e->starting = true;
        pthread_mutex_unlock(&c->lock);
        /* Recorded "starting" first: a crash during CTR_START must not leave
         * a started container that brigd believes never ran, nor one never
         * started that it believes runs (finish_crashed_start()). */
        r = record_write(c, e, NULL);
        if (r < 0) {
                /* The record (written whole or not at all) still says
                 * "created". */
                pthread_mutex_lock(&c->lock);
                e->starting = false;
                e->status.started_at = 0;
                pthread_mutex_unlock(&c->lock);
                return errbuf_fail(err, err_size, r, "container %s: cannot write its record: %s",
                                   e->pub.id, strerror(-r));
        }
        crashpoint(CRASH_CTR_STARTING);
        r = helper_client_ctr_start(c->helper, call_id, e->pub.id, err, err_size);
        if (r == 0)
                crashpoint(CRASH_CTR_STARTED);
        pthread_mutex_lock(&c->lock);
        e->starting = false;
        if (r == 0)
                e->status.state = CTR_RUNNING;
        else
                e->status.started_at = 0;
        pthread_mutex_unlock(&c->lock);
        int w = record_write(c, e, NULL);
        if (w < 0)
                log_error_errno(w, "cannot record a container's start; its record says starting",
                                "call=%" PRIu64 " ctr=%s", call_id, e->pub.id);
        if (r == 0) {
                log_info("container started", "call=%" PRIu64 " ctr=%s", call_id, e->pub.id);
                pthread_mutex_lock(&c->lock);
                int64_t started_at = e->status.started_at;
                pthread_mutex_unlock(&c->lock);
                ctr_events_emit(c->events, e->pub.id, e->pub.pod_id,
                                RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STARTED_EVENT,
                                started_at);
        }
        return r;
}

int containers_start(struct containers *c, uint64_t call_id, const char *ref, char *err,
                     size_t err_size)
{
        struct entry *e = NULL;
        int r;

        /* Shared with creations: a pod's stop waits for a start in flight. */
        containers_create_begin(c);
        r = op_begin(c, ref, &e, err, err_size);
        if (r == 0)
                r = errbuf_fail(err, err_size, -ENOENT, "container %.80s not found", ref);
        if (r > 0) {
                r = start_locked(c, call_id, e, err, err_size);
                op_end(c, e);
        }
        containers_create_end(c);
        return r;
}

/* Waits up to ms for e's exit, woken by its event, and asking the helper
 * every POLL_MS where no event may come; true when it exited. */
static bool wait_exit(struct containers *c, uint64_t call_id, struct entry *e, int64_t ms)
{
        int64_t end = clock_monotonic_ms() + ms;

        for (;;) {
                int64_t left;

                refresh(c, call_id, e);
                pthread_mutex_lock(&c->lock);
                left = end - clock_monotonic_ms();
                if (e->status.state == CTR_RUNNING && left > 0) {
                        struct timespec until =
                            clock_deadline_in_ms(left < POLL_MS ? left : POLL_MS);
                        pthread_cond_timedwait(&c->exited, &c->lock, &until);
                }
                left = end - clock_monotonic_ms();
                bool running = e->status.state == CTR_RUNNING;
                pthread_mutex_unlock(&c->lock);
                if (!running)
                        return true;
                if (left <= 0)
                        return false;
        }
}

/* Sends signal; a container that exited meanwhile is no error. */
static int kill_running(struct containers *c, uint64_t call_id, struct entry *e, int signal,
                        char *err, size_t err_size)
{
        int r = helper_client_ctr_kill(c->helper, call_id, e->pub.id, signal, err, err_size);

        if (r < 0) {
                refresh(c, call_id, e);
                /* An init gone with its exit not yet recorded refuses the
                 * signal too: its exit is waited for. */
                if (state_of(c, e) != CTR_RUNNING || init_lost(c, e))
                        return 0;
        }
        return r;
}

static int stop_locked(struct containers *c, uint64_t call_id, struct entry *e, int64_t timeout_s,
                       char *err, size_t err_size)
{
        int signal = timeout_s > 0 ? e->pub.stop_signal : SIGKILL;
        int r;

        refresh(c, call_id, e);
        if (state_of(c, e) != CTR_RUNNING)
                return 0;
        r = kill_running(c, call_id, e, signal, err, err_size);
        if (r < 0)
                return r;
        crashpoint(CRASH_CTR_KILLED);
        if (signal != SIGKILL) {
                if (wait_exit(c, call_id, e,
                              timeout_s > INT64_MAX / 1000 ? INT64_MAX : timeout_s * 1000))
                        goto stopped;
                log_info("container still runs after its stop timeout; killing it",
                         "call=%" PRIu64 " ctr=%s timeout_s=%" PRId64, call_id, e->pub.id,
                         timeout_s);
                r = kill_running(c, call_id, e, SIGKILL, err, err_size);
                if (r < 0)
                        return r;
        }
        if (!wait_exit(c, call_id, e, KILL_WAIT_MS))
                return errbuf_fail(err, err_size, -ETIMEDOUT,
                                   "container %s still runs %d ms after SIGKILL", e->pub.id,
                                   KILL_WAIT_MS);
stopped:
        log_info("container stopped", "call=%" PRIu64 " ctr=%s", call_id, e->pub.id);
        return 0;
}

int containers_stop(struct containers *c, uint64_t call_id, const char *ref, int64_t timeout_s,
                    char *err, size_t err_size)
{
        struct entry *e = NULL;
        int r = op_begin(c, ref, &e, err, err_size);

        if (r == 0)
                return errbuf_fail(err, err_size, -ENOENT, "container %.80s not found", ref);
        if (r < 0)
                return r;
        r = stop_locked(c, call_id, e, timeout_s, err, err_size);
        op_end(c, e);
        return r;
}

/* The helper's delete first, then the record: a crash between them leaves
 * a record whose container the helper no longer knows, which reads as
 * exited and is removed again. */
static int remove_locked(struct containers *c, uint64_t call_id, struct entry *e, char *err,
                         size_t err_size)
{
        char name[CTR_ID_LEN + 16], why[256];
        int r;

        if (state_of(c, e) == CTR_RUNNING &&
            helper_client_ctr_kill(c->helper, call_id, e->pub.id, SIGKILL, why, sizeof(why)) < 0)
                log_debug("SIGKILL before a removal failed; the delete kills it",
                          "call=%" PRIu64 " ctr=%s reason=\"%s\"", call_id, e->pub.id, why);
        r = helper_client_ctr_delete(c->helper, call_id, e->pub.id, err, err_size);
        if (r < 0)
                return r;
        crashpoint(CRASH_CTR_REMOVING);
        record_name(e->pub.id, name, sizeof(name));
        pthread_mutex_lock(&e->rec_lock);
        r = recfile_delete(c->dir_fd, name);
        if (r == 0)
                table_drop(c, e);
        pthread_mutex_unlock(&e->rec_lock);
        if (r < 0)
                return errbuf_fail(err, err_size, r, "container %s: cannot delete its record: %s",
                                   e->pub.id, strerror(-r));
        log_info("container removed", "call=%" PRIu64 " ctr=%s", call_id, e->pub.id);
        ctr_events_emit(c->events, e->pub.id, e->pub.pod_id,
                        RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_DELETED_EVENT, now_ns());
        return 0;
}

int containers_remove(struct containers *c, uint64_t call_id, const char *ref, char *err,
                      size_t err_size)
{
        struct entry *e = NULL;
        int r = op_begin(c, ref, &e, err, err_size);

        if (r <= 0)
                return r;
        r = remove_locked(c, call_id, e, err, err_size);
        op_end(c, e);
        return r;
}

/* ---- pods and images ---------------------------------------------------- */

/* A pod's stop: SIGKILL to each running container first, then the waits
 * for their exits, so that exits a dead monitor can no longer record are
 * given up on after one grace for all, not one grace after another. The
 * caller holds every op_lock of v. */
static int pod_stop_locked(struct containers *c, uint64_t call_id, struct entry **v, size_t n,
                           char *err, size_t err_size)
{
        int r = 0;

        for (size_t i = 0; r == 0 && i < n; i++) {
                refresh(c, call_id, v[i]);
                if (state_of(c, v[i]) == CTR_RUNNING)
                        r = kill_running(c, call_id, v[i], SIGKILL, err, err_size);
        }
        for (size_t i = 0; r == 0 && i < n; i++)
                if (!wait_exit(c, call_id, v[i], KILL_WAIT_MS))
                        r = errbuf_fail(err, err_size, -ETIMEDOUT,
                                        "container %s still runs %d ms after SIGKILL", v[i]->pub.id,
                                        KILL_WAIT_MS);
        return r;
}

int containers_pod_hook(void *arg, uint64_t call_id, const char *pod_id, bool remove, char *err,
                        size_t err_size)
{
        struct containers *c = arg;
        struct entry **v = NULL;
        size_t n = 0, held = 0;
        int r = 0;

        /* Every creation or start that saw the pod ready ends first; later
         * ones find it not ready. */
        pthread_rwlock_wrlock(&c->create_lock);
        pthread_rwlock_unlock(&c->create_lock);
        if (pod_entries(c, pod_id, &v, &n) < 0)
                return errbuf_fail(err, err_size, -ENOMEM, "out of memory");
        if (n > 0 && !c->helper)
                r = errbuf_fail(err, err_size, -ENOTCONN,
                                "brigd runs without brig-helper: containers cannot be changed");
        /* Every op_lock at once: no other path holds two, and pods.c runs
         * one pod stop or removal at a time, so no order can deadlock. The
         * first held of v are the ones still there. */
        for (size_t i = 0; r == 0 && i < n; i++) {
                struct entry *e = v[i];
                bool gone;

                pthread_mutex_lock(&e->op_lock);
                pthread_mutex_lock(&c->lock);
                gone = e->removed;
                pthread_mutex_unlock(&c->lock);
                if (gone) {
                        pthread_mutex_unlock(&e->op_lock);
                        continue;
                }
                v[i] = v[held];
                v[held++] = e;
        }
        if (r == 0 && !remove)
                r = pod_stop_locked(c, call_id, v, held, err, err_size);
        for (size_t i = 0; r == 0 && remove && i < held; i++)
                r = remove_locked(c, call_id, v[i], err, err_size);
        for (size_t i = 0; i < held; i++)
                pthread_mutex_unlock(&v[i]->op_lock);
        for (size_t i = 0; i < n; i++)
                container_unref(c, &v[i]->pub);
        free(v);
        return r;
}

int containers_image_lock(struct containers *c, const char *image_id, char *err, size_t err_size)
{
        int r = 0;

        pthread_rwlock_wrlock(&c->create_lock);
        pthread_mutex_lock(&c->lock);
        for (size_t i = 0; i < c->n && r == 0; i++)
                if (strcmp(c->v[i]->pub.image_id, image_id) == 0)
                        r = errbuf_fail(err, err_size, -EBUSY,
                                        "image %s is in use by container %s (%s)", image_id,
                                        c->v[i]->pub.id, c->v[i]->pub.config->metadata->name);
        pthread_mutex_unlock(&c->lock);
        if (r < 0)
                pthread_rwlock_unlock(&c->create_lock);
        return r;
}

void containers_image_unlock(struct containers *c)
{
        pthread_rwlock_unlock(&c->create_lock);
}

int containers_exec_sync(struct containers *c, uint64_t call_id, const char *ref,
                         const char *const *argv, size_t argc, uint32_t timeout_s,
                         struct helper_exec_result *ret, char *err, size_t err_size)
{
        struct container *ctr = NULL;
        struct ctr_status st;
        int r = containers_get(c, ref, &ctr, err, err_size);

        if (r < 0)
                return r;
        containers_status(c, call_id, ctr, &st);
        if (st.state != CTR_RUNNING) {
                snprintf(err, err_size, "container %s is not running", ctr->id);
                r = -EBUSY;
        } else if (!c->helper) {
                snprintf(err, err_size, "brigd has no helper to run an exec");
                r = -ENOTCONN;
        } else {
                r = helper_client_ctr_exec_sync(c->helper, call_id, ctr->id, argv, argc, timeout_s,
                                                ret, err, err_size);
        }
        container_unref(c, ctr);
        return r;
}

int containers_spec(struct containers *c, uint64_t call_id, struct container *ctr, int *ret_fd,
                    char *err, size_t err_size)
{
        *ret_fd = -1;
        if (!c->helper)
                return errbuf_fail(err, err_size, -ENOTCONN, "brigd runs without brig-helper");
        return helper_client_ctr_spec(c->helper, call_id, ctr->id, ret_fd, err, err_size);
}

int containers_reopen_log(struct containers *c, uint64_t call_id, const char *ref, char *err,
                          size_t err_size)
{
        struct container *ctr = NULL;
        struct ctr_status st;
        int r = containers_get(c, ref, &ctr, err, err_size);

        if (r < 0)
                return r;
        containers_status(c, call_id, ctr, &st);
        if (st.state != CTR_RUNNING) {
                snprintf(err, err_size, "container %s is not running", ctr->id);
                r = -EBUSY;
        } else if (!ctr->log_path[0]) {
                snprintf(err, err_size, "container %s has no log", ctr->id);
                r = -ENOENT;
        } else if (!c->helper) {
                snprintf(err, err_size, "brigd has no helper to reopen a log");
                r = -ENOTCONN;
        } else {
                r = helper_client_ctr_reopen_log(c->helper, call_id, ctr->id, err, err_size);
        }
        container_unref(c, ctr);
        return r;
}

int containers_update(struct containers *c, uint64_t call_id, const char *ref,
                      const Runtime__V1__LinuxContainerResources *res, char *err, size_t err_size)
{
        struct ctr_request req = {0};
        _cleanup_free_ uint8_t *spec = NULL;
        _cleanup_free_ char *hex = NULL;
        size_t len = 0;
        struct entry *e;
        enum ctr_state st;
        int r = op_begin(c, ref, &e, err, err_size);

        if (r == 0)
                return errbuf_fail(err, err_size, -ENOENT, "container %s not found", ref);
        if (r < 0)
                return r;
        st = state_of(c, e);
        if (st != CTR_CREATED && st != CTR_RUNNING) {
                r = errbuf_fail(err, err_size, -EBUSY,
                                "container %s is %s; only a created or running one is updated",
                                e->pub.id, state_name(st));
                goto out;
        }
        r = ctr_request_resources(res, e->pub.config->metadata->name, &req, err, err_size);
        if (r == 0)
                r = ctrspec_encode_resources(&req.spec, &spec, &len, err, err_size);
        if (r == 0 && res && !(hex = message_hex(&res->base)))
                r = -ENOMEM;
        if (r == 0 && len > 0)
                r = helper_client_ctr_update(c->helper, call_id, e->pub.id, spec, len, err,
                                             err_size);
        if (r < 0)
                goto out;
        pthread_mutex_lock(&c->lock);
        free(e->resources_hex);
        e->resources_hex = TAKE_PTR(hex);
        pthread_mutex_unlock(&c->lock);
        r = record_write(c, e, NULL);
        if (r < 0)
                errbuf_fail(err, err_size, r, "container %s: updated, but its record is not: %s",
                            e->pub.id, strerror(-r));
        else
                log_info("container resources updated", "call=%" PRIu64 " ctr=%s", call_id,
                         e->pub.id);
out:
        ctr_request_free(&req);
        op_end(c, e);
        return r;
}

Runtime__V1__LinuxContainerResources *containers_resources(struct containers *c,
                                                           struct container *ctr)
{
        struct entry *e = entry_of(ctr);
        _cleanup_free_ char *hex = NULL;

        pthread_mutex_lock(&c->lock);
        hex = e->resources_hex ? strdup(e->resources_hex) : NULL;
        pthread_mutex_unlock(&c->lock);
        if (hex)
                return (Runtime__V1__LinuxContainerResources *)message_unhex(
                    &runtime__v1__linux_container_resources__descriptor, hex);
        if (!ctr->config->linux || !ctr->config->linux->resources)
                return NULL;
        hex = message_hex(&ctr->config->linux->resources->base);
        return hex ? (Runtime__V1__LinuxContainerResources *)message_unhex(
                         &runtime__v1__linux_container_resources__descriptor, hex)
                   : NULL;
}

grpc_status_code containers_grpc_code(int error)
{
        switch (error) {
        case -EINVAL:
        case -EPERM:
        case -EMSGSIZE:
        case -E2BIG:
        /* what the helper finds wrong in the image for this request: a
         * user file too large, an id that does not fit, a symlink loop */
        case -EFBIG:
        case -ERANGE:
        case -ELOOP:
                return GRPC_STATUS_INVALID_ARGUMENT;
        case -ENOENT:
                return GRPC_STATUS_NOT_FOUND;
        case -EEXIST:
                return GRPC_STATUS_ALREADY_EXISTS;
        case -EBUSY:
                return GRPC_STATUS_FAILED_PRECONDITION;
        case -ENOSPC:
        case -ENOMEM:
                return GRPC_STATUS_RESOURCE_EXHAUSTED;
        case -ETIMEDOUT:
                return GRPC_STATUS_DEADLINE_EXCEEDED;
        case -ENOTCONN:
        case -ENETDOWN:
                return GRPC_STATUS_UNAVAILABLE;
        default:
                return GRPC_STATUS_INTERNAL;
        }
}
