/* The base library: error text, the clocks, little-endian bytes and files,
 * each on its failure paths as well as its ordinary ones. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base-clock.h"
#include "base-err.h"
#include "base-file.h"
#include "base-le.h"
#include "check.h"
#include "testdir.h"

static void test_err(void)
{
    char err[8] = "unset";

    err_set(NULL, 10, "%s", "nowhere");
    err_set(err, 0, "%s", "nowhere");
    CHECK(strcmp(err, "unset") == 0);
    err_set(err, sizeof(err), "%s %d", "longer than eight", 1);
    CHECK(strcmp(err, "longer ") == 0);
    CHECK(err_fail(err, sizeof(err), -EINVAL, "bad %d", 7) == -EINVAL);
    CHECK(strcmp(err, "bad 7") == 0);
    CHECK(err_fail(NULL, 0, -ENOENT, "x") == -ENOENT);

    char *s = fmt_alloc("%s/%03d", "dir", 7);
    CHECK(s && strcmp(s, "dir/007") == 0);
    free(s);
    s = fmt_alloc("%s", "");
    CHECK(s && s[0] == '\0');
    free(s);
}

static void test_clock(void)
{
    double a = now_mono_s();
    int64_t ms = now_mono_ms();
    double b = now_mono_s();
    int64_t real = now_real_ms();
    int64_t wall = (int64_t)time(NULL) * 1000;

    CHECK(b >= a);
    CHECKF(ms >= (int64_t)(a * 1000) - 1 && ms <= (int64_t)(b * 1000) + 1,
           "%lld ms against %.3f..%.3f s", (long long)ms, a, b);
    CHECKF(real >= wall - 2000 && real <= wall + 2000, "%lld against %lld", (long long)real,
           (long long)wall);
}

static void test_le(void)
{
    uint8_t b[9];

    memset(b, 0xaa, sizeof(b));
    le_put16(b, 0x0102);
    CHECK(b[0] == 0x02 && b[1] == 0x01 && b[2] == 0xaa);
    le_put32(b, 0x01020304u);
    CHECK(b[0] == 0x04 && b[3] == 0x01 && b[4] == 0xaa);
    le_put64(b, 0x0102030405060708ull);
    CHECK(b[0] == 0x08 && b[7] == 0x01 && b[8] == 0xaa);
    CHECK(le_get64(b) == 0x0102030405060708ull);
    CHECK(le_get32(b) == 0x05060708u);
    CHECK(le_get16(b) == 0x0708);
    memset(b, 0xff, 8);
    CHECK(le_get64(b) == UINT64_MAX);
    /* Only n bytes are written, and read back whole. */
    le_put(b, 0x123456, 3);
    CHECK(b[0] == 0x56 && b[2] == 0x12 && b[3] == 0xff);
    CHECK(le_get(b, 3) == 0x123456);
    CHECK(le_get(b, 0) == 0);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

static void test_join(void)
{
    char out[8];

    CHECK(file_join(out, sizeof(out), "ab", "cdef") == 0);
    CHECK(strcmp(out, "ab/cdef") == 0);
    /* Seven characters and the NUL fit; eight do not. */
    CHECK(file_join(out, sizeof(out), "ab", "cdefg") == -ENAMETOOLONG);
    CHECK(file_join(out, 0, "", "") == -ENAMETOOLONG);
}

static void test_sync_dir(void)
{
    write_text(testdir_path("plain"), "x");
    CHECK(file_sync_dir(testdir) == 0);
    CHECK(file_sync_dir(testdir_path("plain")) == -ENOTDIR);
    CHECK(file_sync_dir(testdir_path("missing")) == -ENOENT);
}

static mode_t mode_of(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static void test_write(void)
{
    char buf[64];
    size_t len = 0;
    mode_t old = umask(0277);
    int fd;

    /* The mode asked for, whatever the umask took away. */
    CHECK(file_write_new(testdir_path("new"), "hello", 5, 0640) == 0);
    CHECK(mode_of(testdir_path("new")) == 0640);
    umask(old);
    CHECK(file_read(testdir_path("new"), buf, sizeof(buf), &len) == 0 && len == 5);
    /* Never over an existing file, nor through a link. */
    CHECK(file_write_new(testdir_path("new"), "other", 5, 0600) == -EEXIST);
    CHECK(file_read(testdir_path("new"), buf, sizeof(buf), &len) == 0 &&
          memcmp(buf, "hello", 5) == 0);
    CHECK(symlink("new", testdir_path("link")) == 0);
    CHECK(file_write_new(testdir_path("link"), "other", 5, 0600) == -EEXIST);
    CHECK(file_write_new(testdir_path("missing/new"), "x", 1, 0600) == -ENOENT);

    /* A write that fails removes the file it created. */
    fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        CHECK(file_write_all(fd, "x", 1) == -ENOSPC);
        close(fd);
    }
    int p[2];
    CHECK(pipe(p) == 0);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    CHECK(file_write_all(p[1], "x", 1) == -EPIPE);
    close(p[1]);

    /* Positional: the file position stays, a short file reads short. */
    fd = open(testdir_path("pos"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    CHECK(file_pwrite_all(fd, "abcdef", 6, 0) == 0);
    CHECK(file_pwrite_all(fd, "XY", 2, 2) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 0);
    CHECK(file_pread_all(fd, buf, 4, 3, &len) == 0 && len == 3 && memcmp(buf, "Yef", 3) == 0);
    CHECK(file_pread_all(fd, buf, 4, 100, &len) == 0 && len == 0);
    close(fd);
    fd = open(testdir_path("pos"), O_RDONLY | O_CLOEXEC);
    CHECK(file_pwrite_all(fd, "x", 1, 0) == -EBADF);
    close(fd);
    CHECK(file_pread_all(-1, buf, 1, 0, &len) == -EBADF);

    /* Atomic replacement: the old content, then the new, and a temp file a
     * crash left is taken over. */
    write_text(testdir_path("state"), "old");
    write_text(testdir_path(".state.tmp"), "half a file");
    CHECK(file_write_atomic(testdir, "state", ".tmp", "new!", 4, 0600) == 0);
    CHECK(file_read(testdir_path("state"), buf, sizeof(buf), &len) == 0 && len == 4 &&
          memcmp(buf, "new!", 4) == 0);
    CHECK(mode_of(testdir_path("state")) == 0600);
    CHECK(access(testdir_path(".state.tmp"), F_OK) < 0);
    /* Over a directory the rename fails, and no temp file stays. */
    CHECK(mkdir(testdir_path("adir"), 0700) == 0);
    CHECK(file_write_atomic(testdir, "adir", ".new", "x", 1, 0600) == -EISDIR);
    CHECK(access(testdir_path(".adir.new"), F_OK) < 0);
    CHECK(rmdir(testdir_path("adir")) == 0);
    CHECK(file_write_atomic(testdir_path("missing"), "state", ".tmp", "x", 1, 0600) == -ENOENT);
    /* A directory that is a file. */
    CHECK(file_write_atomic(testdir_path("state"), "x", ".tmp", "x", 1, 0600) == -ENOTDIR);

    char longname[PATH_MAX];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    CHECK(file_write_atomic(testdir, longname, ".tmp", "x", 1, 0600) == -ENAMETOOLONG);
}

static void test_read(void)
{
    char buf[8];
    char *text = NULL;
    size_t len = 99;
    int p[2];

    write_text(testdir_path("four"), "abcd");
    write_text(testdir_path("empty"), "");
    CHECK(file_read(testdir_path("four"), buf, 4, &len) == 0 && len == 4);
    /* One byte over the bound. */
    len = 99;
    CHECK(file_read(testdir_path("four"), buf, 3, &len) == -EFBIG);
    CHECK(len == 99);
    CHECK(file_read(testdir_path("empty"), buf, sizeof(buf), &len) == 0 && len == 0);
    CHECK(file_read(testdir, buf, sizeof(buf), &len) == -EISDIR);
    CHECK(file_read("/dev/null", buf, sizeof(buf), &len) == -EINVAL);
    CHECK(file_read(testdir_path("missing"), buf, sizeof(buf), &len) == -ENOENT);

    /* A stream has no size to trust: the bound is found by reading. */
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "12345", 5) == 5);
    close(p[1]);
    CHECK(file_read_fd(p[0], buf, 4, &len) == -EFBIG);
    close(p[0]);

    CHECK(file_read_alloc(testdir_path("four"), 4, &text, &len) == 0);
    CHECK(text && len == 4 && strcmp(text, "abcd") == 0);
    free(text);
    text = NULL;
    CHECK(file_read_alloc(testdir_path("four"), 3, &text, &len) == -EFBIG && !text);
    CHECK(file_read_alloc(testdir_path("empty"), 3, &text, &len) == 0 && text && text[0] == '\0');
    free(text);
    CHECK(file_read_alloc(testdir, 3, &text, &len) == -EISDIR);
}

int main(void)
{
    testdir_make("base");
    test_err();
    test_clock();
    test_le();
    test_join();
    test_sync_dir();
    test_write();
    test_read();
    unlink(testdir_path("link"));
    testdir_remove();
    return check_status();
}
