/* The control socket of `hark run`, and the client of `hark ctl`: one Unix
 * stream socket, one line per request ("mute", "unmute", "status"), one JSON
 * line back. No TCP or UDP anywhere. The server runs its own thread; the
 * callbacks run on it and must be thread-safe. It serves up to
 * CONTROL_CLIENTS_MAX clients at once, each of which must send its line
 * within a second of connecting; one more is answered with an error. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define CONTROL_REPLY_MAX 256
#define CONTROL_CLIENTS_MAX 8

struct control_callbacks {
    /* A mute or unmute was asked for. */
    void (*on_mute)(void *userdata, bool muted);
    /* The status as a JSON object, without a newline. */
    void (*status)(void *userdata, char *buf, size_t size);
};

struct control;

/* Makes the socket's directory (0700) when it is missing, refuses to start
 * when another hark answers on the socket, removes a stale one, and listens
 * (mode 0660). Peers must be this user, root, or in this group. */
int control_new(const char *path, const struct control_callbacks *callbacks, void *userdata,
                char *err, size_t errsz, struct control **ret);
/* Stops the thread and removes the socket. Accepts NULL. */
void control_free(struct control *control);

/* The client: sends one command and returns the reply line. */
int control_request(const char *path, const char *command, char *reply, size_t size, char *err,
                    size_t errsz);
