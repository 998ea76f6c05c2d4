/* Fuzz harness for the audio file source: any bytes are either refused with a
 * message naming the file or decoded to 16 kHz mono without a memory error. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audio-source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct audio_source_options opts = {0};
    struct audio_source *src = NULL;
    char path[64], err[512];
    int16_t buf[4096];
    ssize_t n;
    uint64_t total = 0;
    int fd;

    /* The source opens files by name; a memfd gives the bytes one. */
    fd = memfd_create("fuzz-audio", MFD_CLOEXEC);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
        abort();
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if (audio_source_open(path, &opts, err, sizeof(err), &src) < 0) {
        if (!strstr(err, path)) {
            fprintf(stderr, "error does not name the file: %s\n", err);
            abort();
        }
        close(fd);
        return 0;
    }
    /* Bounded: a header may claim hours of audio. */
    while (total < 16000 * 60 && (n = audio_source_read(src, buf, 4096, err, sizeof(err))) > 0) {
        total += (uint64_t)n;
    }
    audio_source_free(src);
    close(fd);
    return 0;
}
