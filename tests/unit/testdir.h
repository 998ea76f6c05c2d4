/* One temporary directory per test program, holding every file the test
 * makes, removed at the end. */
#pragma once

extern char testdir[4096];

/* Makes $TMPDIR/hark-test-NAME-XXXXXX (or under /tmp); exits on failure. */
void testdir_make(const char *name);
/* The path of a file in it. The string stays valid for the next 31 calls. */
char *testdir_path(const char *file);
/* Removes it and everything in it. */
void testdir_remove(void);
