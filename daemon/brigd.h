/* brigd.h: the state every brigd service shares, handed to handlers as the
 * rpc server's app pointer. */
#pragma once

#include <time.h>

#include "config.h"

struct helper_client;
struct images;
struct pods;
struct containers;
struct ctr_events;
struct stream_server;

struct brigd {
        struct brig_config config;
        /* NULL when brigd runs without brig-helper (development only). */
        struct helper_client *helper;
        struct images *images;         /* the image store and puller */
        struct pods *pods;             /* the pod sandboxes */
        struct containers *containers; /* the containers in them */
        struct ctr_events *ctr_events; /* their changes, for GetContainerEvents */
        struct stream_server *streams; /* exec, attach and port-forward sessions */
        struct timespec started;
};
