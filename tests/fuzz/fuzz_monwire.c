/* fuzz_monwire.c: libFuzzer target for brig-monitor's request decoder
 * (privhelper/monitor/wire.h). The first byte is the number of fds that
 * came with the datagram (0..3), the rest the datagram.
 *
 * Besides memory errors it checks what main.c relies on; a broken
 * invariant aborts:
 *   - a refusal has a reason: NUL-terminated, printable, not empty;
 *   - an accepted request is a request kind with the strings its kind
 *     carries, each NUL-terminated inside the input;
 *   - one fd came exactly when LOG_FD is there (required in REOPEN_LOG,
 *     optional in CREATE, nowhere else), and its index is below the count;
 *   - EXEC_SYNC, and only it, has 1..MON_MAX_EXEC_ARGS args, each
 *     NUL-terminated inside the input;
 *   - a request without invalid set has a 64-hex id and clean absolute
 *     paths, which re-checking confirms. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "privhelper/monitor/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(const char *s, const uint8_t *data, size_t size)
{
        if (!s)
                return;
        if ((const uint8_t *)s < data || (const uint8_t *)s >= data + size)
                abort();
        if (!memchr(s, '\0', size - (size_t)((const uint8_t *)s - data)))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct mon_request q;
        char err[WIRE_REASON_MAX];

        if (size < 1)
                return 0;
        size_t n_fds = data[0] % 4;
        data++;
        size--;
        err[0] = '\0';
        int r = wire_decode_request(data, size, n_fds, &q, err, sizeof(err));
        if (r < 0) {
                size_t n = strnlen(err, sizeof(err));
                if (n == 0 || n == sizeof(err))
                        abort();
                for (size_t i = 0; i < n; i++)
                        if (err[i] < ' ' || err[i] > '~')
                                abort();
                return 0;
        }
        if (r != 0 || q.kind < MON_KIND_CREATE ||
            (q.kind > MON_KIND_SHUTDOWN && q.kind != MON_KIND_EXEC_SYNC))
                abort();
        if ((q.kind == MON_KIND_EXEC_SYNC) != (q.n_args > 0) || q.n_args > MON_MAX_EXEC_ARGS)
                abort();
        for (uint32_t i = 0; i < q.n_args; i++)
                check_string(q.args[i], data, size);
        check_string(q.ctr_id, data, size);
        check_string(q.bundle, data, size);
        check_string(q.runtime, data, size);
        check_string(q.runtime_root, data, size);
        if (q.has_log_fd != (n_fds == 1) || (q.has_log_fd && q.log_fd_index >= n_fds) ||
            (q.kind == MON_KIND_REOPEN_LOG && !q.has_log_fd) ||
            (q.has_log_fd && q.kind != MON_KIND_CREATE && q.kind != MON_KIND_REOPEN_LOG))
                abort();
        if (!q.invalid && q.ctr_id && !wire_valid_id(q.ctr_id))
                abort();
        if (!q.invalid && q.bundle &&
            (q.bundle[0] != '/' || strstr(q.bundle, "/../") || strstr(q.bundle, "//")))
                abort();
        if ((q.kind == MON_KIND_CREATE || q.kind == MON_KIND_REOPEN_LOG ||
             q.kind == MON_KIND_FORGET || q.kind == MON_KIND_EXEC_SYNC) != (q.ctr_id != NULL))
                abort();
        return 0;
}
