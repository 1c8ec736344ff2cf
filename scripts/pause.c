/* pause: the infra container of containerd's pods in `make bench`
 * (scripts/bench_pods.py). It holds the pod's namespaces by staying alive:
 * it waits for signals, reaps any child it inherits as PID 1, and exits 0 on
 * SIGTERM or SIGINT. Built static (gcc -static -O2) so that the image needs
 * nothing but this file. brig itself runs no such container. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig)
{
        (void)sig;
        _exit(0);
}

static void on_child(int sig)
{
        (void)sig;
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
}

int main(void)
{
        struct sigaction stop = {.sa_handler = on_stop};
        struct sigaction child = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP | SA_RESTART};

        if (sigaction(SIGTERM, &stop, NULL) < 0 || sigaction(SIGINT, &stop, NULL) < 0 ||
            sigaction(SIGCHLD, &child, NULL) < 0) {
                perror("pause: sigaction");
                return 1;
        }
        for (;;)
                pause();
}
