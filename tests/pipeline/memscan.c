/* memscan PID STRING...: searches the writable memory of process PID (heap,
 * anonymous mappings, stacks) for each STRING, and prints where each one is
 * found. Exit 0 when none is found, 1 when one is, 2 on an error, 77 when
 * the process's memory cannot be read (not root). For the test that a
 * dropped request's words do not stay in hark's memory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char path[64], line[512];
    size_t found = 0, regions = 0;
    FILE *maps;
    int mem;

    if (argc < 3) {
        fprintf(stderr, "usage: memscan PID STRING...\n");
        return 2;
    }
    snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
    maps = fopen(path, "re");
    snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
    mem = open(path, O_RDONLY | O_CLOEXEC);
    if (!maps || mem < 0) {
        fprintf(stderr, "memscan: %s: %s\n", path, strerror(errno));
        return errno == EACCES || errno == EPERM ? 77 : 2;
    }
    while (fgets(line, sizeof(line), maps)) {
        unsigned long lo, hi;
        char perms[8] = "", name[256] = "";
        char *buf;

        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255[^\n]", &lo, &hi, perms, name) < 3) {
            continue;
        }
        /* Writable, private, and not a file's own data or code. */
        if (perms[0] != 'r' || perms[1] != 'w' || (name[0] == '/' && strstr(name, ".so")) ||
            strcmp(name, "[vvar]") == 0 || hi - lo > (1ul << 31)) {
            continue;
        }
        buf = malloc(hi - lo);
        if (!buf) {
            continue;
        }
        if (pread(mem, buf, hi - lo, (off_t)lo) == (ssize_t)(hi - lo)) {
            regions++;
            for (int i = 2; i < argc; i++) {
                size_t n = strlen(argv[i]);

                for (char *p = buf; (p = memmem(p, (size_t)(buf + (hi - lo) - p), argv[i], n));
                     p += n) {
                    printf("%s at %#lx in %s\n", argv[i], lo + (unsigned long)(p - buf),
                           name[0] ? name : "(anonymous)");
                    found++;
                }
            }
        }
        free(buf);
    }
    fclose(maps);
    close(mem);
    if (regions == 0) {
        fprintf(stderr, "memscan: no region of %s could be read\n", argv[1]);
        return 77;
    }
    return found > 0;
}
