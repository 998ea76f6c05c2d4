/* The test programs' temporary directory, see testdir.h. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
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

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if ((type == FTW_DP ? rmdir(path) : unlink(path)) < 0) {
        fprintf(stderr, "cannot remove %s\n", path);
    }
    return 0;
}

void testdir_remove(void)
{
    /* Depth first, not following links: directories after what they hold. */
    nftw(testdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
