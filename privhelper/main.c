/* main.c: brig-helper's entry point: command line and start-up. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static void usage(FILE *f)
{
        fprintf(f, "Usage: brig-helper [OPTION]...\n"
                   "The root side of brig, a Kubernetes CRI runtime.\n\n"
                   "  -h, --help       show this help\n"
                   "  -V, --version    show the version\n");
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'},
            {0},
        };
        int c;

        log_set_program("brig-helper");
        while ((c = getopt_long(argc, argv, "hV", options, NULL)) != -1) {
                switch (c) {
                case 'h':
                        usage(stdout);
                        return 0;
                case 'V':
                        printf("brig-helper %s\n", BRIG_VERSION);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "brig-helper: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }
        log_error("brig-helper cannot serve yet", NULL);
        return 1;
}
