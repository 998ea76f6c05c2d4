/* The control socket, see control.h. A thread of its own rather than a file
 * descriptor in the lws loop: lws owns its poll set, and a mute must work
 * even while the link is busy or down. The thread serves every client at once
 * from one poll, each with its own line buffer and deadline, so a client that
 * is slow or silent never holds up a mute. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base-clock.h"
#include "control.h"
#include "log.h"

#define LINE_MAX_BYTES 64
/* A client gets this long from its connection to send its whole line, however
 * it spreads the bytes; the answer never waits for it (see answer()). */
#define CLIENT_DEADLINE_MS 1000

struct client {
    int fd; /* -1: the slot is free */
    size_t n;
    int64_t deadline_ms;
    char line[LINE_MAX_BYTES + 1];
};

struct control {
    struct control_callbacks cb;
    void *userdata;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int listen_fd;
    int stop_fd; /* eventfd: the thread's exit signal */
    pthread_t thread;
    bool thread_running;
    /* Owned by the thread. */
    struct client clients[CONTROL_CLIENTS_MAX];
};
static int make_address(const char *path, struct sockaddr_un *ret, char *err, size_t errsz)
{
    *ret = (struct sockaddr_un){.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(ret->sun_path)) {
        snprintf(err, errsz, "%s: the control socket's path is too long", path);
        return -ENAMETOOLONG;
    }
    memcpy(ret->sun_path, path, strlen(path) + 1);
    return 0;
}

/* The socket's directory: made 0700 when missing (systemd makes
 * RuntimeDirectory itself); an existing one must not be writable by others,
 * or they could replace the socket. */
static int check_dir(const char *path, char *err, size_t errsz)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char *slash;
    struct stat st;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (!slash || slash == dir) {
        return 0;
    }
    *slash = '\0';
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errsz, "%s: cannot make the control socket's directory: %s", dir,
                 strerror(errno));
        return -errno;
    }
    if (stat(dir, &st) < 0) {
        snprintf(err, errsz, "%s: %s", dir, strerror(errno));
        return -errno;
    }
    if ((st.st_mode & S_IWOTH) || (st.st_uid != geteuid() && st.st_uid != 0)) {
        snprintf(err, errsz,
                 "%s: the control socket's directory is writable by others or owned by another "
                 "user: refusing to use it",
                 dir);
        return -EPERM;
    }
    return 0;
}

static bool peer_allowed(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
        return false;
    }
    return cred.uid == geteuid() || cred.uid == 0 || cred.gid == getegid();
}

/* Sends one line and closes the connection. Never blocks: the answer, at most
 * CONTROL_REPLY_MAX bytes, is the first thing written to the connection, so
 * it fits its socket buffer; a client that went away is not told. */
static void answer(int fd, const char *text)
{
    char buf[CONTROL_REPLY_MAX + 1];
    int len = snprintf(buf, sizeof(buf), "%s\n", text);

    if (len > 0 && (size_t)len < sizeof(buf)) {
        (void)send(fd, buf, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    close(fd);
}

static void client_finish(struct client *cl, const char *text)
{
    answer(cl->fd, text);
    *cl = (struct client){.fd = -1};
}

static void client_command(struct control *c, struct client *cl)
{
    char status[CONTROL_REPLY_MAX];

    cl->line[cl->n] = '\0';
    cl->line[strcspn(cl->line, "\r\n")] = '\0';
    if (strcmp(cl->line, "mute") == 0 || strcmp(cl->line, "unmute") == 0) {
        c->cb.on_mute(c->userdata, cl->line[0] == 'm');
    } else if (strcmp(cl->line, "status") != 0) {
        client_finish(cl, "{\"error\":\"unknown command: use mute, unmute or status\"}");
        return;
    }
    c->cb.status(c->userdata, status, sizeof(status));
    client_finish(cl, status);
}

/* Reads what the client has sent; a whole line (or the end of its stream) is
 * a command. */
static void client_read(struct control *c, struct client *cl)
{
    ssize_t k = read(cl->fd, cl->line + cl->n, LINE_MAX_BYTES - cl->n);

    if (k < 0) {
        if (errno != EAGAIN && errno != EINTR) {
            client_finish(cl, "{\"error\":\"read failed\"}");
        }
        return;
    }
    cl->n += (size_t)k;
    if (k == 0 || memchr(cl->line, '\n', cl->n)) {
        client_command(c, cl);
    } else if (cl->n == LINE_MAX_BYTES) {
        client_finish(cl, "{\"error\":\"line too long\"}");
    }
}

/* Takes every waiting connection: a peer not allowed, or one past
 * CONTROL_CLIENTS_MAX, is answered with an error at once and closed. */
static void accept_clients(struct control *c, int64_t now)
{
    for (;;) {
        int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        struct client *free_slot = NULL;

        if (fd < 0) {
            return; /* EAGAIN: none left; anything else: retried at the next poll */
        }
        if (!peer_allowed(fd)) {
            answer(fd, "{\"error\":\"not allowed\"}");
            continue;
        }
        for (size_t i = 0; i < CONTROL_CLIENTS_MAX && !free_slot; i++) {
            if (c->clients[i].fd < 0) {
                free_slot = &c->clients[i];
            }
        }
        if (!free_slot) {
            answer(fd, "{\"error\":\"busy: too many control clients\"}");
            continue;
        }
        *free_slot = (struct client){.fd = fd, .deadline_ms = now + CLIENT_DEADLINE_MS};
    }
}

static void *control_main(void *userdata)
{
    struct control *c = userdata;

    for (;;) {
        struct pollfd fds[2 + CONTROL_CLIENTS_MAX] = {
            {.fd = c->listen_fd, .events = POLLIN},
            {.fd = c->stop_fd, .events = POLLIN},
        };
        int64_t now = now_mono_ms(), next = -1;
        int timeout = -1;

        for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++) {
            fds[2 + i] = (struct pollfd){.fd = c->clients[i].fd, .events = POLLIN};
            if (c->clients[i].fd >= 0 && (next < 0 || c->clients[i].deadline_ms < next)) {
                next = c->clients[i].deadline_ms;
            }
        }
        if (next >= 0) {
            timeout = next > now ? (int)(next - now) : 0;
        }
        if (poll(fds, 2 + CONTROL_CLIENTS_MAX, timeout) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (fds[1].revents) {
            break;
        }
        now = now_mono_ms();
        for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++) {
            struct client *cl = &c->clients[i];

            if (cl->fd >= 0 && fds[2 + i].revents) {
                client_read(c, cl);
            }
            if (cl->fd >= 0 && now >= cl->deadline_ms) {
                client_finish(cl, "{\"error\":\"no command within the deadline\"}");
            }
        }
        if (fds[0].revents) {
            accept_clients(c, now);
        }
    }
    for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++) {
        if (c->clients[i].fd >= 0) {
            close(c->clients[i].fd);
        }
    }
    return NULL;
}

/* Whether a hark answers on the socket already. */
static bool in_use(const struct sockaddr_un *addr)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool used;

    if (fd < 0) {
        return false;
    }
    used = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
    close(fd);
    return used;
}

int control_new(const char *path, const struct control_callbacks *callbacks, void *userdata,
                char *err, size_t errsz, struct control **ret)
{
    struct control *c = calloc(1, sizeof(*c));
    struct sockaddr_un addr;
    struct stat st;
    int r;

    if (!c) {
        snprintf(err, errsz, "out of memory");
        return -ENOMEM;
    }
    c->cb = *callbacks;
    c->userdata = userdata;
    c->listen_fd = -1;
    c->stop_fd = -1;
    for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++) {
        c->clients[i] = (struct client){.fd = -1};
    }
    r = make_address(path, &addr, err, errsz);
    if (r < 0) {
        goto fail;
    }
    r = check_dir(path, err, errsz);
    if (r < 0) {
        goto fail;
    }
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errsz, "%s: exists and is not a socket: refusing to replace it", path);
            r = -EEXIST;
            goto fail;
        }
        if (in_use(&addr)) {
            snprintf(err, errsz, "%s: another hark is running (it answers on this socket)", path);
            r = -EADDRINUSE;
            goto fail;
        }
        unlink(path);
    }
    c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->listen_fd < 0) {
        r = -errno;
        snprintf(err, errsz, "%s: cannot make the control socket: %s", path, strerror(-r));
        goto fail;
    }
    /* Bound with no access for anyone, then opened to owner and group: no
     * moment in which others could connect. */
    {
        mode_t old = umask(0777);

        r = bind(c->listen_fd, (struct sockaddr *)&addr, sizeof(addr));
        umask(old);
    }
    if (r < 0 || chmod(path, 0660) < 0 || listen(c->listen_fd, CONTROL_CLIENTS_MAX) < 0) {
        r = -errno;
        snprintf(err, errsz, "%s: cannot listen on the control socket: %s", path, strerror(-r));
        goto fail;
    }
    snprintf(c->path, sizeof(c->path), "%s", path);
    c->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (c->stop_fd < 0 || pthread_create(&c->thread, NULL, control_main, c) != 0) {
        snprintf(err, errsz, "cannot start the control thread");
        r = -EAGAIN;
        goto fail;
    }
    c->thread_running = true;
    *ret = c;
    return 0;

fail:
    control_free(c);
    return r;
}

void control_free(struct control *c)
{
    uint64_t one = 1;

    if (!c) {
        return;
    }
    if (c->thread_running) {
        if (write(c->stop_fd, &one, sizeof(one)) != sizeof(one)) {
            pthread_cancel(c->thread);
        }
        pthread_join(c->thread, NULL);
    }
    if (c->listen_fd >= 0) {
        close(c->listen_fd);
        if (c->path[0]) {
            unlink(c->path);
        }
    }
    if (c->stop_fd >= 0) {
        close(c->stop_fd);
    }
    free(c);
}

int control_request(const char *path, const char *command, char *out, size_t size, char *err,
                    size_t errsz)
{
    struct timeval tv = {.tv_sec = 5};
    struct sockaddr_un addr;
    size_t n = 0;
    int fd, r;

    r = make_address(path, &addr, err, errsz);
    if (r < 0) {
        return r;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        r = -errno;
        snprintf(err, errsz, "cannot make a socket: %s", strerror(-r));
        return r;
    }
    /* The send timeout bounds the connect too (a full backlog). */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        r = -errno;
        snprintf(err, errsz, "%s: %s (is hark run running?)", path, strerror(-r));
        close(fd);
        return r;
    }
    /* A server that refuses (too many clients) answers and closes at
     * once, maybe before the command is sent: then its answer is still
     * read. MSG_NOSIGNAL: a closed socket is an error, not SIGPIPE. */
    if (send(fd, command, strlen(command), MSG_NOSIGNAL) != (ssize_t)strlen(command) ||
        send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
        r = -errno;
        if (r != -EPIPE && r != -ECONNRESET) {
            snprintf(err, errsz, "%s: cannot send: %s", path, strerror(-r));
            close(fd);
            return r;
        }
    }
    while (n + 1 < size) {
        ssize_t k = read(fd, out + n, size - 1 - n);

        if (k <= 0) {
            break;
        }
        n += (size_t)k;
        if (memchr(out, '\n', n)) {
            break;
        }
    }
    close(fd);
    out[n] = '\0';
    out[strcspn(out, "\n")] = '\0';
    if (n == 0) {
        snprintf(err, errsz, "%s: no answer", path);
        return -EIO;
    }
    return 0;
}
