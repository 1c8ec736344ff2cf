/* netlink.c: owns the helper's rtnetlink requests. One request, one
 * acknowledgement, on a socket opened for it: the callers run in short-lived
 * children that have just entered a new network namespace. */
#include "netlink.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>

#include "util.h"

int netlink_link_up(unsigned ifindex, char *err, size_t err_size)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifm;
        unsigned seq = (unsigned)time(NULL), portid;
        ssize_t n;
        int r = 0;

        if (!nl) {
                r = negative_errno();
                snprintf(err, err_size, "opening an rtnetlink socket: %s", strerror(-r));
                return r;
        }
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                r = negative_errno();
                snprintf(err, err_size, "binding the rtnetlink socket: %s", strerror(-r));
                goto out;
        }
        portid = mnl_socket_get_portid(nl);
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_NEWLINK;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = seq;
        ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        ifm->ifi_index = (int)ifindex;
        ifm->ifi_flags = IFF_UP;
        ifm->ifi_change = IFF_UP;
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
                r = negative_errno();
                snprintf(err, err_size, "sending RTM_NEWLINK for interface %u: %s", ifindex,
                         strerror(-r));
                goto out;
        }
        n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
        if (n < 0 || mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL) < 0) {
                r = negative_errno();
                snprintf(err, err_size, "bringing up interface %u: %s", ifindex, strerror(-r));
        }
out:
        mnl_socket_close(nl);
        return r;
}
