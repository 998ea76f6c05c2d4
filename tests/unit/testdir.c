/* The test programs' temporary directory, see testdir.h. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testdir.h"

char testdir[4096];

void testdir_make(const char *name)
{
    const char *base = getenv("TMPDIR");

    snprintf(testdir, sizeof(testdir), "%s/hark-test-%s-XXXXXX", base && *base ? base : "/tmp",
             name);
    if (!mkdtemp(testdir)) {
        perror("mkdtemp");
        exit(1);
    }
}

char *testdir_path(const char *file)
{
    /* Enough slots that no test still holds one when it comes round again. */
    static char paths[32][4096 + 64];
    static int next;
    char *p = paths[next++ % 32];

    snprintf(p, sizeof(paths[0]), "%s/%s", testdir, file);
    return p;
}

void testdir_remove(void)
{
    DIR *dir = opendir(testdir);
    struct dirent *e;

    if (!dir) {
        return;
    }
    while ((e = readdir(dir))) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            unlinkat(dirfd(dir), e->d_name, 0);
        }
    }
    closedir(dir);
    if (rmdir(testdir) < 0) {
        fprintf(stderr, "cannot remove %s\n", testdir);
    }
}
