/* channel.h: the messages between brig-helper's CNI runner (a root job
 * child, privhelper/cni.c) and brig-cni (privhelper/cni/, confined, no
 * capabilities, the only side that parses JSON).
 *
 * The channel is a SOCK_SEQPACKET socket, brig-cni's fd 3. Each datagram is
 * one TLV payload (common/tlv.h encoding, at most BRIG_HELPER_MAX_PAYLOAD
 * bytes, at most BRIG_HELPER_MAX_FIELDS elements) whose first element is
 * CNI_TAG_KIND. A datagram that is larger, malformed, of an unknown kind or
 * missing a required field ends the conversation with an error on either
 * side.
 *
 * The conversation:
 *
 *   runner -> brig-cni   REQUEST
 *   then, until DONE or FAIL:
 *   brig-cni -> runner   CACHE    the runner stores the blob, answers nothing
 *   brig-cni -> runner   EXEC     the runner runs one plugin and answers
 *   runner -> brig-cni   RESULT
 *   brig-cni -> runner   DONE or FAIL, then brig-cni exits
 *
 * brig-cni decides which plugin runs with which stdin and what a result
 * means; the runner decides where a plugin binary is found, its
 * environment (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME,
 * CNI_ARGS, CNI_PATH are built from the runner's own checked values, never
 * from brig-cni), its timeout and where its stderr goes.
 */
#pragma once

#include <stdint.h>

enum cni_kind {
        CNI_KIND_REQUEST = 1,
        CNI_KIND_CACHE = 2,
        CNI_KIND_EXEC = 3,
        CNI_KIND_RESULT = 4,
        CNI_KIND_DONE = 5,
        CNI_KIND_FAIL = 6,
};

enum cni_command {
        CNI_CMD_ADD = 1,
        CNI_CMD_DEL = 2,
        CNI_CMD_CHECK = 3,
};

enum cni_tag {
        /* U32 cni_kind; first in every datagram. */
        CNI_TAG_KIND = 1,
        /* U32 cni_command. REQUEST: the operation; EXEC: the plugin's
         * CNI_COMMAND (always the request's). */
        CNI_TAG_COMMAND = 2,
        /* STRING, REQUEST: the pod id (64 lowercase hex), CNI_CONTAINERID. */
        CNI_TAG_CONTAINER_ID = 3,
        /* STRING, REQUEST: the interface in the pod ("eth0"), CNI_IFNAME. */
        CNI_TAG_IFNAME = 4,
        /* STRING, REQUEST (ADD): the configuration file's name (no
         * directory), for messages and to tell a ".conflist" from a ".conf"
         * or ".json". DEL and CHECK take it from the cache. */
        CNI_TAG_CONF_NAME = 5,
        /* BYTES, REQUEST (ADD): the configuration file's content as read. */
        CNI_TAG_CONF = 6,
        /* BYTES. CACHE: a blob for the runner to keep for this pod.
         * REQUEST (DEL, CHECK): the last blob kept; brig-cni takes the
         * configuration, the capability arguments and the result from it,
         * and ignores CONF and the capability tags. */
        CNI_TAG_CACHE = 7,
        /* BYTES, REQUEST (ADD), optional: n * CNI_PORT_RECORD_SIZE bytes, the
         * pod's host port mappings (layout below). */
        CNI_TAG_PORTS = 8,
        /* U64, REQUEST (ADD), optional: bandwidth limits in bits per second. */
        CNI_TAG_INGRESS_RATE = 9,
        CNI_TAG_EGRESS_RATE = 10,
        /* STRING, REQUEST (ADD), optional: space-separated lists for the
         * "dns" capability: server IPs, search domains, resolver options. */
        CNI_TAG_DNS_SERVERS = 11,
        CNI_TAG_DNS_SEARCHES = 12,
        CNI_TAG_DNS_OPTIONS = 13,
        /* STRING, EXEC: the plugin's "type", [A-Za-z0-9._-], 1-64 bytes. */
        CNI_TAG_PLUGIN = 20,
        /* BYTES, EXEC: the plugin's stdin (its network configuration). */
        CNI_TAG_STDIN = 21,
        /* U32, RESULT: how the plugin ended: 0 success, 1-255 its exit
         * code, CNI_EXIT_SIGNAL + n killed by signal n, CNI_EXIT_TIMEOUT
         * killed at the timeout, CNI_EXIT_NOT_FOUND no such plugin in the
         * plugin directories, CNI_EXIT_NOT_RUN the runner could not run it
         * or refused its output (for these two, STDOUT is the runner's
         * message, not the plugin's output). */
        CNI_TAG_EXIT = 22,
        /* BYTES, RESULT: the plugin's stdout, at most
         * BRIG_HELPER_MAX_PAYLOAD - 64 bytes (longer output fails the
         * plugin). */
        CNI_TAG_STDOUT = 23,
        /* STRING, DONE (ADD), repeated up to CNI_MAX_IPS: an address of the
         * pod with its prefix length, "10.88.0.5/16" or "fd00::5/64", in the
         * result's order. */
        CNI_TAG_IP = 24,
        /* STRING, FAIL: what failed, for the user: which plugin, which
         * command, the plugin's msg and details, or what was wrong with the
         * configuration (naming the file and the field). */
        CNI_TAG_MESSAGE = 25,
};

#define CNI_EXIT_SIGNAL    0x100u
#define CNI_EXIT_TIMEOUT   0x10000u
#define CNI_EXIT_NOT_FOUND 0x10001u
#define CNI_EXIT_NOT_RUN   0x10002u

/* A configuration file the runner reads for ADD: it travels in a REQUEST
 * with the largest port and DNS fields beside it. */
#define CNI_MAX_CONF (48 * 1024)

#define CNI_MAX_IPS         8
#define CNI_MAX_PLUGINS     16
#define CNI_PLUGIN_NAME_MAX 64

/* One port mapping, 24 bytes, little-endian:
 *   0  4  protocol        6 tcp, 17 udp, 132 sctp
 *   4  2  host_port       1-65535
 *   6  2  container_port  1-65535
 *   8 16  host_ip         IPv6, or IPv4-mapped ::ffff:a.b.c.d; all zero: any
 * The same layout is the helper protocol's PORT_MAPPINGS value. */
#define CNI_PORT_RECORD_SIZE 24
#define CNI_MAX_PORTS        256
