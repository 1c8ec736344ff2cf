/* fuzz_userdb.c: libFuzzer target for privhelper/userdb.h's resolution on
 * file contents (userdb_resolve_from). Input layout: a flags byte (which
 * CRI fields are set, how many supplemental groups), 8 bytes of run_as_user,
 * 8 of run_as_group, 8 of one supplemental group, a length byte and that
 * many bytes of the user spelling (image user or run_as_username), a 2-byte
 * passwd length and the passwd bytes, the rest the group file; a flag may
 * mark either file absent. Besides memory errors it checks the promises of
 * the header: CRI numbers come out exactly or are refused, no id is ever
 * (uint32_t)-1, the gid list starts with the gid and is otherwise strictly
 * ascending without it, the spelling is printable, a refusal has a message
 * and writes nothing, and run_as_non_root refuses exactly uid 0. A broken
 * invariant aborts. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "privhelper/userdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
        if (!ok)
                abort();
}

static uint64_t take_u64(const uint8_t **p)
{
        uint64_t v;

        memcpy(&v, *p, sizeof(v));
        *p += sizeof(v);
        return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const uint8_t *p = data, *end = data + size;
        char name[256], err[256];
        struct ctr_spec spec;
        struct resolved_user u;
        uint64_t sup[3];

        if (size < 1 + 24 + 1)
                return -1;
        memset(&spec, 0, sizeof(spec));
        uint8_t flags = *p++;
        spec.run_as_user = (struct ctr_opt_u64){flags & 1, take_u64(&p)};
        spec.run_as_group = (struct ctr_opt_u64){(flags >> 1) & 1, take_u64(&p)};
        sup[0] = take_u64(&p);
        sup[1] = 1000;
        sup[2] = sup[0];
        spec.supplemental_groups = sup;
        spec.n_supplemental_groups = (flags >> 2) & 3;

        size_t name_len = *p++;
        if ((size_t)(end - p) < name_len)
                return -1;
        memcpy(name, p, name_len);
        name[name_len] = '\0';
        p += name_len;
        if (flags & 0x10)
                spec.run_as_username = name;
        else
                spec.image_user = name;

        size_t pw_len = 0;
        if (end - p >= 2) {
                pw_len = (size_t)p[0] | (size_t)p[1] << 8;
                p += 2;
        }
        if ((size_t)(end - p) < pw_len)
                pw_len = (size_t)(end - p);
        const char *pw = (const char *)p, *gr = (const char *)p + pw_len;
        size_t gr_len = (size_t)(end - p) - pw_len;
        if (flags & 0x20)
                pw = NULL;
        if (flags & 0x40)
                gr = NULL;

        memset(&u, 0x5a, sizeof(u));
        err[0] = '\0';
        int r = userdb_resolve_from(pw, pw ? pw_len : 0, gr, gr ? gr_len : 0, &spec, &u, err,
                                    sizeof(err));
        if (r < 0) {
                check(r == -ENOENT || r == -ERANGE || r == -EINVAL || r == -E2BIG || r == -ENOMEM);
                check(err[0] != '\0');
                for (size_t i = 0; i < sizeof(u); i++)
                        check(((const unsigned char *)&u)[i] == 0x5a);
                return 0;
        }
        check(r == 0);
        check(u.uid != UINT32_MAX && u.gid != UINT32_MAX);
        if (spec.run_as_user.has)
                check(u.uid == spec.run_as_user.v);
        if (spec.run_as_group.has)
                check(u.gid == spec.run_as_group.v);
        check(u.n_additional_gids >= 1 && u.n_additional_gids <= USERDB_MAX_GROUPS);
        check(u.additional_gids[0] == u.gid);
        for (size_t i = 1; i < u.n_additional_gids; i++) {
                check(u.additional_gids[i] != u.gid && u.additional_gids[i] != UINT32_MAX);
                check(i == 1 || u.additional_gids[i] > u.additional_gids[i - 1]);
        }
        for (size_t i = 0; i < spec.n_supplemental_groups; i++) {
                bool listed = false;

                for (size_t k = 0; k < u.n_additional_gids; k++)
                        listed = listed || u.additional_gids[k] == sup[i];
                check(listed);
        }
        size_t spelled_len = strnlen(u.spelled, sizeof(u.spelled));
        check(spelled_len > 0 && spelled_len < sizeof(u.spelled));
        for (size_t i = 0; i < spelled_len; i++)
                check(u.spelled[i] >= 0x20 && u.spelled[i] < 0x7f);

        /* an all-digit user spelling is that uid, whatever the files say */
        if (!spec.run_as_user.has) {
                size_t digits = strspn(name, "0123456789");
                uint64_t v = 0;

                if (digits > 0 && digits < 11 && (name[digits] == '\0' || name[digits] == ':')) {
                        for (size_t i = 0; i < digits; i++)
                                v = v * 10 + (uint64_t)(name[i] - '0');
                        if (spec.image_user || name[digits] == '\0')
                                check(u.uid == v);
                }
        }

        err[0] = '\0';
        r = userdb_check_non_root(&u, true, err, sizeof(err));
        check(u.uid == 0 ? r == -EPERM && err[0] != '\0' : r == 0);
        check(userdb_check_non_root(&u, false, err, sizeof(err)) == 0);
        userdb_user_free(&u);
        return 0;
}
