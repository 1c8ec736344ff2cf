/* main.c: brig-unpack, the confined layer unpacker brig-helper spawns, one
 * per layer. It owns the command line contract with the helper, the order
 * of verification, confinement and unpacking, and the one result message.
 * See docs/brig-unpack.md. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <locale.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "confine.h"
#include "fileq.h"
#include "hproto.h"
#include "ids.h"
#include "log.h"
#include "tlv.h"
#include "untar.h"
#include "util.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
/* LeakSanitizer stops the world with clone() at exit, which RLIMIT_NPROC
 * and the seccomp filter forbid, and reads /proc, which is not mounted.
 * The sanitizer's per-thread signal stack is removed with sigaltstack()
 * when a file worker exits, which the filter forbids too. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
        return "detect_leaks=0:use_sigaltstack=0";
}
#endif
#endif

struct args {
        int layer_fd, blob_fd, result_fd;
        const char *media_type, *diff_id, *chain_id, *parent_chain_id;
        uint64_t max_entries, max_bytes;
        int workers; /* -1: one per CPU we may run on, at most FILEQ_MAX_LANES */
};

static int parse_fd(const char *s, int *ret)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end || end == s || v < 0 || v > 65535)
                return -EINVAL;
        *ret = (int)v;
        return 0;
}

static int parse_u64(const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        if (s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || v == 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_args(int argc, char **argv, struct args *a, char *err, size_t err_size)
{
        static const struct option opts[] = {
            {"layer-fd", required_argument, NULL, 'l'},
            {"blob-fd", required_argument, NULL, 'b'},
            {"result-fd", required_argument, NULL, 'r'},
            {"media-type", required_argument, NULL, 'm'},
            {"diff-id", required_argument, NULL, 'd'},
            {"chain-id", required_argument, NULL, 'c'},
            {"parent-chain-id", required_argument, NULL, 'p'},
            {"max-entries", required_argument, NULL, 'E'},
            {"max-bytes", required_argument, NULL, 'B'},
            {"workers", required_argument, NULL, 'W'},
            {0},
        };
        int c, r = 0;

        *a = (struct args){
            .layer_fd = -1,
            .blob_fd = -1,
            .result_fd = -1,
            .max_entries = UNTAR_DEFAULT_MAX_ENTRIES,
            .max_bytes = UNTAR_DEFAULT_MAX_BYTES,
            .workers = -1,
        };
        opterr = 0;
        while (r == 0 && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'l':
                        r = parse_fd(optarg, &a->layer_fd);
                        break;
                case 'b':
                        r = parse_fd(optarg, &a->blob_fd);
                        break;
                case 'r':
                        r = parse_fd(optarg, &a->result_fd);
                        break;
                case 'm':
                        a->media_type = optarg;
                        break;
                case 'd':
                        a->diff_id = optarg;
                        break;
                case 'c':
                        a->chain_id = optarg;
                        break;
                case 'p':
                        a->parent_chain_id = optarg;
                        break;
                case 'E':
                        r = parse_u64(optarg, &a->max_entries);
                        break;
                case 'B':
                        r = parse_u64(optarg, &a->max_bytes);
                        break;
                case 'W':
                        r = parse_fd(optarg, &a->workers);
                        if (r == 0 && a->workers > FILEQ_MAX_LANES)
                                r = -EINVAL;
                        break;
                default:
                        snprintf(err, err_size, "unknown option or missing value: %s",
                                 argv[optind - 1]);
                        return -EINVAL;
                }
                if (r < 0) {
                        snprintf(err, err_size, "bad value for %s", argv[optind - 1]);
                        return r;
                }
        }
        if (optind != argc) {
                snprintf(err, err_size, "unexpected argument: %s", argv[optind]);
                return -EINVAL;
        }
        if (a->layer_fd < 0 || a->blob_fd < 0 || a->result_fd < 0 || !a->media_type ||
            !a->diff_id || !a->chain_id) {
                snprintf(err, err_size,
                         "--layer-fd, --blob-fd, --result-fd, --media-type, "
                         "--diff-id and --chain-id are required");
                return -EINVAL;
        }
        return 0;
}

/* The opaque directory list as a sealed memfd, so the helper reads exactly
 * what was written and nobody can change it after. */
static int opaque_memfd(int fd, const char *list, size_t len, char *err, size_t err_size)
{
        size_t done = 0;

        while (done < len) {
                ssize_t n = write(fd, list + done, len - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        snprintf(err, err_size, "writing the opaque directory list failed");
                        return n < 0 ? negative_errno() : -EIO;
                }
                done += (size_t)n;
        }
        if (lseek(fd, 0, SEEK_SET) < 0 ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
                snprintf(err, err_size, "sealing the opaque directory list failed: %s",
                         strerror(errno));
                return negative_errno();
        }
        return 0;
}

static int send_success(int result_fd, const struct untar_result *res, int memfd)
{
        uint8_t payload[4 * (BRIG_TLV_HDR_SIZE + 8)];
        struct tlv_writer w;
        size_t len;
        int r;

        tlv_writer_init(&w, payload, sizeof(payload));
        tlv_put_u64(&w, BRIG_TAG_LAYER_BYTES, res->bytes);
        tlv_put_u64(&w, BRIG_TAG_LAYER_ENTRIES, res->entries);
        tlv_put_u64(&w, BRIG_TAG_LAYER_SKIPPED, res->skipped);
        if (memfd >= 0)
                tlv_put_fd(&w, BRIG_TAG_OPAQUE_DIRS_FD, 0);
        r = tlv_writer_finish(&w, &len);
        if (r < 0)
                return r;
        return brig_msg_send(result_fd, BRIG_CMD_UNPACK | BRIG_HELPER_REPLY_FLAG, 0, 0, payload,
                             len, memfd >= 0 ? &memfd : NULL, memfd >= 0 ? 1 : 0);
}

/* Each worker lane keeps one CPU busy creating files, and the main thread
 * decompresses and parses alongside them. */
static unsigned file_workers(const struct args *a)
{
        cpu_set_t set;
        int n;

        if (a->workers >= 0)
                return (unsigned)a->workers;
        n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
        return (unsigned)(n < 1 ? 1 : n > FILEQ_MAX_LANES ? FILEQ_MAX_LANES : n);
}

static int run(const struct args *a, char *err, size_t err_size)
{
        _cleanup_close_ int root_fd = -1, memfd = -1;
        struct writer *w = NULL;
        struct untar_opts o = {.max_bytes = a->max_bytes, .diff_id = a->diff_id};
        struct untar_result res;
        const char *opaque;
        size_t opaque_len;
        struct stat st;
        int r;

        /* Cheap checks first: nothing is touched when the request is wrong. */
        r = ids_check_chain(a->chain_id, a->parent_chain_id, a->diff_id, err, err_size);
        if (r < 0)
                return r;
        if (ids_media_type(a->media_type, &o.comp) < 0) {
                snprintf(err, err_size, "unsupported layer media type: %.128s", a->media_type);
                return -EINVAL;
        }
        if (fstat(a->layer_fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
                snprintf(err, err_size, "--layer-fd %d is not an open directory", a->layer_fd);
                return -EBADF;
        }
        if (fstat(a->blob_fd, &st) < 0) {
                snprintf(err, err_size, "--blob-fd %d is not open", a->blob_fd);
                return -EBADF;
        }

        /* OpenSSL reads its config and loads its provider on first use: do
         * that now, while files are visible and before seccomp forbids open. */
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len;
        if (EVP_Digest("", 0, md, &md_len, EVP_sha256(), NULL) != 1) {
                snprintf(err, err_size, "OpenSSL sha256 is not available");
                return -EIO;
        }

        r = confine_root(a->layer_fd, &root_fd, err, err_size);
        if (r < 0)
                return r;
        r = confine_privileges(err, err_size);
        if (r < 0)
                return r;
        memfd = memfd_create("brig-opaque-dirs", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (memfd < 0) {
                snprintf(err, err_size, "memfd_create failed: %s", strerror(errno));
                return negative_errno();
        }
        r = writer_new(root_fd, a->max_entries, file_workers(a), &w, err, err_size);
        if (r < 0)
                return r;
        r = confine_seccomp(err, err_size);
        if (r < 0)
                goto out;

        r = untar_run(w, a->blob_fd, &o, &res, err, err_size);
        if (r < 0)
                goto out;
        /* The helper renames the layer into place next: it must be on disk. */
        if (syncfs(root_fd) < 0) {
                r = negative_errno();
                snprintf(err, err_size, "syncfs of the layer failed: %s", strerror(-r));
                goto out;
        }
        opaque = writer_opaque_dirs(w, &opaque_len);
        if (opaque_len > 0) {
                r = opaque_memfd(memfd, opaque, opaque_len, err, err_size);
                if (r < 0)
                        goto out;
        } else {
                memfd = safe_close(memfd);
        }
        log_info("layer unpacked",
                 "chain_id=%s bytes=%" PRIu64 " entries=%" PRIu64 " skipped=%" PRIu64, a->chain_id,
                 res.bytes, res.entries, res.skipped);
        r = send_success(a->result_fd, &res, memfd);
        if (r < 0)
                snprintf(err, err_size, "sending the result failed: %s", strerror(-r));
out:
        writer_free(w);
        return r;
}

int main(int argc, char **argv)
{
        char err[BRIG_HELPER_MAX_ERROR_MESSAGE] = "";
        struct args a;
        int r;

        log_set_program("brig-unpack");
        /* pax names are UTF-8; libarchive converts them to the locale's
         * charset, which must be able to hold them. */
        setlocale(LC_CTYPE, "C.UTF-8");
        /* Modes come from the tar, and created parents are exactly 0755. */
        umask(0);
        /* Log timestamps are UTC; a POSIX TZ string keeps glibc's strftime
         * from opening /etc/localtime, which seccomp forbids later. */
        setenv("TZ", "UTC0", 1);
        tzset();

        r = parse_args(argc, argv, &a, err, sizeof(err));
        if (r == 0)
                r = run(&a, err, sizeof(err));
        if (r == 0)
                return 0;
        log_error_errno(r, "unpack failed", "reason=\"%s\"", err);
        if (a.result_fd >= 0) {
                int s = brig_msg_send_error(a.result_fd, BRIG_CMD_UNPACK, 0,
                                            r < -BRIG_HELPER_MAX_ERRNO ? -EIO : r, err);
                if (s < 0)
                        log_error_errno(s, "sending the error failed", NULL);
        }
        return 1;
}
