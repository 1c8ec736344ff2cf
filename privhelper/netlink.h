/* netlink.h: the helper's own rtnetlink requests (libmnl), made in the
 * network namespace of the calling process. */
#pragma once

#include <stddef.h>

/* The loopback device's index in every network namespace. */
#define NETLINK_LOOPBACK_INDEX 1

/* Sets IFF_UP on interface ifindex and waits for the kernel's
 * acknowledgement. Returns 0, or a negative errno with err set. */
int netlink_link_up(unsigned ifindex, char *err, size_t err_size);
