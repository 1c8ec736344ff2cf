/* fuzz_untar.c: libFuzzer target for brig-unpack's core (untar.h): the
 * stream decoders, libarchive's tar reader as configured there, path
 * validation and the writer, run without confinement into a fresh
 * directory per input. The first input byte picks the compression (plain,
 * gzip, zstd); the rest is the blob. Besides memory errors it checks the
 * invariant the confinement only backs up: nothing appears beside the
 * layer directory, and a failure always comes with a message. */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <ftw.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "privhelper/unpack/untar.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[64];
static char layer[96];

static void check(bool ok)
{
        if (!ok)
                abort();
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void remove_base(void)
{
        nftw(layer, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        rmdir(base);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        (void)argc;
        (void)argv;
        snprintf(base, sizeof(base), "/tmp/fuzz-untar.XXXXXX");
        check(mkdtemp(base) != NULL);
        snprintf(layer, sizeof(layer), "%s/layer", base);
        atexit(remove_base);
        umask(0);
        log_set_level(LOG_LEVEL_ERROR);
        return 0;
}

/* The base directory holds the layer directory and nothing else. */
static void check_nothing_beside(void)
{
        DIR *d = opendir(base);
        struct dirent *e;
        int n = 0;

        check(d != NULL);
        while ((e = readdir(d))) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                check(strcmp(e->d_name, "layer") == 0);
                n++;
        }
        closedir(d);
        check(n == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const enum stream_compression comps[] = {STREAM_PLAIN, STREAM_GZIP, STREAM_ZSTD};
        struct untar_opts o = {.max_bytes = 64u << 20};
        struct untar_result res;
        struct writer *w = NULL;
        char err[512] = "";
        int blob, root, r;

        if (size < 1)
                return 0;
        o.comp = comps[data[0] % 3];
        blob = memfd_create("blob", MFD_CLOEXEC);
        check(blob >= 0);
        check(write(blob, data + 1, size - 1) == (ssize_t)(size - 1));
        check(lseek(blob, 0, SEEK_SET) == 0);
        check(mkdir(layer, 0755) == 0);
        root = open(layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        check(root >= 0);

        r = writer_new(root, 2000, 2, &w, err, sizeof(err));
        check(r == 0);
        r = untar_run(w, blob, &o, &res, err, sizeof(err));
        if (r < 0)
                check(err[0] != '\0' && strlen(err) < sizeof(err));
        else
                check(res.bytes <= o.max_bytes && res.entries <= 2000);
        writer_free(w);
        close(root);
        close(blob);

        check_nothing_beside();
        check(nftw(layer, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0);
        return 0;
}
