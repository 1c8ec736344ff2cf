/* untar.c: owns the unpacking pipeline: stream -> libarchive -> writer,
 * and the final diff id comparison (see untar.h). */
#include "untar.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "log.h"

static la_ssize_t read_cb(struct archive *a, void *data, const void **buf)
{
        struct stream *s = data;
        ssize_t n = stream_read(s, buf);

        if (n < 0) {
                archive_set_error(a, (int)-n, "%s", stream_error(s));
                return -1;
        }
        return n;
}

int untar_run(struct writer *w, int blob_fd, const struct untar_opts *o, struct untar_result *res,
              char *err, size_t err_size)
{
        struct stream *s = NULL;
        struct archive *a = NULL;
        char digest[72];
        int r;

        *res = (struct untar_result){0};
        r = stream_new(blob_fd, o->comp, o->max_bytes, &s);
        if (r < 0) {
                snprintf(err, err_size, "out of memory");
                return r;
        }
        r = stream_check_magic(s);
        if (r < 0) {
                snprintf(err, err_size, "blob: %s", stream_error(s));
                goto out;
        }
        a = archive_read_new();
        if (!a || archive_read_support_format_tar(a) != ARCHIVE_OK) {
                snprintf(err, err_size, "libarchive setup failed");
                r = -ENOMEM;
                goto out;
        }
        if (archive_read_open(a, s, NULL, read_cb, NULL) != ARCHIVE_OK)
                goto tar_error;
        for (;;) {
                struct archive_entry *e;

                r = archive_read_next_header(a, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r == ARCHIVE_WARN) {
                        log_warn("tar warning", "warning=\"%s\"",
                                 archive_error_string(a) ? archive_error_string(a) : "");
                } else if (r != ARCHIVE_OK) {
                        goto tar_error;
                }
                r = writer_entry(w, a, e);
                if (r < 0) {
                        /* A data read error may really be the stream's. */
                        if (stream_errno(s) < 0) {
                                snprintf(err, err_size, "blob: %s", stream_error(s));
                                r = stream_errno(s);
                        } else {
                                snprintf(err, err_size, "%s", writer_error(w));
                        }
                        goto out;
                }
        }
        r = stream_drain(s);
        if (r < 0) {
                snprintf(err, err_size, "blob: %s", stream_error(s));
                goto out;
        }
        r = stream_digest(s, digest, sizeof(digest));
        if (r < 0) {
                snprintf(err, err_size, "blob: cannot compute the diff id");
                goto out;
        }
        if (o->diff_id && strcmp(digest, o->diff_id) != 0) {
                snprintf(err, err_size,
                         "blob: uncompressed content has digest %s, not the diff id %s", digest,
                         o->diff_id);
                r = -EILSEQ;
                goto out;
        }
        r = writer_finish(w);
        if (r < 0) {
                snprintf(err, err_size, "%s", writer_error(w));
                goto out;
        }
        res->bytes = stream_bytes(s);
        res->entries = writer_entries(w);
        res->skipped = writer_skipped(w);
        r = 0;
        goto out;
tar_error:
        if (stream_errno(s) < 0) {
                snprintf(err, err_size, "blob: %s", stream_error(s));
                r = stream_errno(s);
        } else {
                const char *msg = archive_error_string(a);

                snprintf(err, err_size, "blob: not a valid tar stream: %s",
                         msg ? msg : "unknown libarchive error");
                r = -EBADMSG;
        }
out:
        if (a)
                archive_read_free(a);
        stream_free(s);
        return r;
}
