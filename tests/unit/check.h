/* The checks every test program uses: a failed check prints its file, line
 * and condition (and CHECKF a message) and is counted; check_status() turns
 * the count into the exit status. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int check_failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

#define CHECKF(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

/* 0 when every check passed, else 1 (after saying how many failed). */
static inline int check_status(void)
{
    if (check_failures) {
        fprintf(stderr, "%d check(s) failed\n", check_failures);
        return 1;
    }
    return 0;
}

/* Runs fn in a child process (for example so that ALSA reads a fresh
 * configuration) and counts a failure unless it exits 0, or 77 (skipped). */
static inline void check_in_child(int (*fn)(void), const char *name)
{
    pid_t pid;
    int status = 0;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        perror("fork");
        check_failures++;
        return;
    }
    if (pid == 0) {
        /* The child reports its own checks only. */
        check_failures = 0;
        exit(fn());
    }
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
        (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 77)) {
        fprintf(stderr, "%s failed (status 0x%x)\n", name, (unsigned)status);
        check_failures++;
    }
}
