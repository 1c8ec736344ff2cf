/* notify.h: telling the service manager how brig is doing (the sd_notify
 * protocol of a Type=notify systemd unit), without linking libsystemd. */
#pragma once

/* Takes NOTIFY_SOCKET from the environment (and removes it, so no child
 * inherits it). Without it every notify_send() is a no-op. */
void notify_init(void);

/* Sends one state string, e.g. "READY=1\nSTATUS=serving CRI". Failures are
 * logged at debug level only: the service manager is advisory. */
void notify_send(const char *state);
