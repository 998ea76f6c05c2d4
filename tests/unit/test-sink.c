/* Tests for the audio sinks: the WAV file (read back, mode 0600, errors naming
 * the path) and the output device, played into ALSA's file plugin. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sndfile.h>

#include "audio-sink.h"

#include "check.h"
#include "testdir.h"

#define RATE 16000

static uint32_t next_random(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

/* Full-scale random samples, never zero: found again in a recording of a
 * device that plays silence around them, they can only be ours. */
static int16_t *make_pattern(size_t n, uint32_t seed)
{
    int16_t *s = malloc(n * sizeof(*s));

    if (!s) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        s[i] = (int16_t)(uint16_t)next_random(&seed);
        if (s[i] == 0) {
            s[i] = 1;
        }
    }
    return s;
}

static void test_wav(void)
{
    static const size_t chunks[] = {320, 0, 1, 4999, 320, 16000};
    char *path = testdir_path("answer.wav");
    struct audio_sink *sink = NULL;
    size_t total = 0;
    char err[512] = "";
    SF_INFO info = {0};
    int16_t *pattern;
    int16_t *back;
    struct stat st;
    SNDFILE *sf;
    mode_t old_umask;
    int r;

    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        total += chunks[i];
    }
    pattern = make_pattern(total, 7);
    back = calloc(total + 10, sizeof(*back));
    if (!back) {
        abort();
    }

    /* With no umask at all a file created 0666 would be world-readable:
     * 0600 must come from the sink. */
    old_umask = umask(0);
    r = audio_sink_open(path, err, sizeof(err), &sink);
    umask(old_umask);
    CHECKF(r == 0, "open: %s", err);
    if (r < 0) {
        goto cleanup;
    }
    total = 0;
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        r = audio_sink_write(sink, pattern + total, chunks[i], err, sizeof(err));
        CHECKF(r == 0, "write %zu: %s", chunks[i], err);
        total += chunks[i];
        if (i == 2) {
            /* A drain halfway leaves a complete file behind. */
            CHECK(audio_sink_drain(sink, 1000) == 0);
            sf = sf_open(path, SFM_READ, &info);
            CHECKF(sf != NULL, "read while open: %s", sf_strerror(NULL));
            CHECKF(info.frames == (sf_count_t)total, "%lld frames after a drain, wrote %zu",
                   (long long)info.frames, total);
            sf_close(sf);
        }
    }
    CHECK(audio_sink_write(sink, NULL, 5, err, sizeof(err)) == -EINVAL);
    CHECK(audio_sink_write(sink, NULL, 0, err, sizeof(err)) == 0);
    CHECK(audio_sink_drain(sink, 0) == 0);
    audio_sink_free(sink);

    CHECK(stat(path, &st) == 0);
    CHECKF((st.st_mode & 0777) == 0600, "mode %o", (unsigned)(st.st_mode & 0777));
    memset(&info, 0, sizeof(info));
    sf = sf_open(path, SFM_READ, &info);
    CHECKF(sf != NULL, "read back: %s", sf_strerror(NULL));
    if (!sf) {
        goto cleanup;
    }
    CHECK(info.format == (SF_FORMAT_WAV | SF_FORMAT_PCM_16));
    CHECK(info.samplerate == RATE);
    CHECK(info.channels == 1);
    CHECKF(info.frames == (sf_count_t)total, "%lld frames, wrote %zu", (long long)info.frames,
           total);
    CHECK(sf_read_short(sf, back, (sf_count_t)total + 10) == (sf_count_t)total);
    CHECK(memcmp(back, pattern, total * sizeof(*back)) == 0);
    sf_close(sf);
    printf("wav: %zu samples written and read back, mode %o\n", total,
           (unsigned)(st.st_mode & 0777));

    /* Opening again truncates, and makes a file others could read private. */
    CHECK(chmod(path, 0644) == 0);
    r = audio_sink_open(path, err, sizeof(err), &sink);
    CHECKF(r == 0, "reopen: %s", err);
    if (r == 0) {
        CHECK(audio_sink_write(sink, pattern, 100, err, sizeof(err)) == 0);
        audio_sink_free(sink);
    }
    CHECK(stat(path, &st) == 0);
    CHECKF((st.st_mode & 0777) == 0600, "mode after reopening %o", (unsigned)(st.st_mode & 0777));
    memset(&info, 0, sizeof(info));
    sf = sf_open(path, SFM_READ, &info);
    CHECK(sf != NULL && info.frames == 100);
    sf_close(sf);

    /* An empty answer is still a valid WAV file. */
    r = audio_sink_open(path, err, sizeof(err), &sink);
    CHECKF(r == 0, "reopen: %s", err);
    audio_sink_free(sink);
    memset(&info, 0, sizeof(info));
    sf = sf_open(path, SFM_READ, &info);
    CHECKF(sf != NULL && info.frames == 0, "empty file: %s", sf_strerror(NULL));
    sf_close(sf);
    unlink(path);

cleanup:
    free(pattern);
    free(back);
}

static void expect_open_error(const char *path, int want, const char *what)
{
    struct audio_sink *sink = (struct audio_sink *)&check_failures;
    char err[512] = "";
    int r = audio_sink_open(path, err, sizeof(err), &sink);

    CHECKF(r == want, "%s: %d (%s), expected %d", what, r, err, want);
    CHECKF(strstr(err, path) != NULL, "%s: message \"%s\" does not name %s", what, err, path);
    /* Not written on failure. */
    CHECK(sink == (struct audio_sink *)&check_failures);
    printf("error: %s\n", err);
}

static void test_wav_errors(void)
{
    FILE *f = fopen(testdir_path("afile"), "we");

    CHECK(f != NULL);
    if (f) {
        fclose(f);
    }
    expect_open_error(testdir_path("no-such-directory/answer.wav"), -ENOENT, "missing directory");
    expect_open_error(testdir, -EISDIR, "a directory");
    /* Root may write anywhere a mode forbids, so: a path through a file. */
    expect_open_error(testdir_path("afile/answer.wav"), -ENOTDIR, "a path through a file");
    CHECK(audio_sink_open(NULL, NULL, 0, NULL) == -EINVAL);
    audio_sink_free(NULL);
    CHECK(audio_sink_drain(NULL, 10) == -EINVAL);
    CHECK(audio_sink_write(NULL, NULL, 0, NULL, 0) == -EINVAL);
}

/* $HOME/.asoundrc (HOME: the test directory) with a default device, and,
 * unless named_raw is NULL, one named harkplay: ALSA file devices that write
 * what they play, raw, to the files given. */
static int write_asoundrc(const char *default_raw, const char *named_raw)
{
    static const char device[] = "pcm.%s {\n    type file\n    slave.pcm \"null\"\n"
                                 "    file \"%s\"\n    format \"raw\"\n}\n";
    FILE *f = fopen(testdir_path(".asoundrc"), "we");

    if (!f) {
        return -1;
    }
    fprintf(f, device, "!default", default_raw);
    if (named_raw) {
        fprintf(f, device, "harkplay", named_raw);
    }
    if (fclose(f) != 0) {
        return -1;
    }
    setenv("HOME", testdir, 1);
    return 0;
}

/* The default output device as this machine has it: CI has none, and then
 * the message must say so; a desktop plays 0.2 s of silence. */
static int default_device_child(void)
{
    static const int16_t silence[3200];
    struct audio_sink *sink = NULL;
    char err[512] = "";
    int r = audio_sink_open_device("speaker", err, sizeof(err), &sink);

    if (r < 0) {
        printf("default device: not available: %s\n", err);
        CHECKF(strstr(err, "output device") != NULL, "message \"%s\"", err);
        CHECK(sink == NULL);
        return check_failures ? 1 : 0;
    }
    CHECK(audio_sink_write(sink, silence, 3200, err, sizeof(err)) == 0);
    r = audio_sink_drain(sink, 5000);
    CHECKF(r == 0, "drain: %d", r);
    audio_sink_free(sink);
    printf("default device: opened, played 0.2 s of silence\n");
    return check_failures ? 1 : 0;
}

/* A playback device without sound hardware: ALSA's file plugin over its null
 * device, as "default" in an .asoundrc under a HOME of our own, writes what
 * is played into a file. The null device takes samples as fast as they come
 * rather than at 16 kHz, so timing means nothing here (and the recording
 * grows by megabytes a second while the stream runs: it is kept short); what
 * this proves is the playback path: the ring, the real-time callback, the
 * silence around the answer, drain and teardown of a running stream, and
 * that the samples arrive unchanged at 16 kHz mono. */
static int device_child(void)
{
    char *rc_path = testdir_path(".asoundrc");
    char *raw_path = testdir_path("played.raw");
    struct audio_sink *sink = NULL;
    char err[512] = "";
    size_t n = RATE;
    int16_t *pattern = make_pattern(n, 99);
    int16_t *played = NULL;
    size_t n_played = 0;
    size_t found = SIZE_MAX;
    size_t sound = 0;
    size_t gaps = 0;
    FILE *f;
    long size;
    int r;

    if (write_asoundrc(raw_path, NULL) < 0) {
        return 1;
    }

    r = audio_sink_open_device("speaker", err, sizeof(err), &sink);
    if (r < 0) {
        printf("device: the ALSA test device cannot be opened here (%s); skipped\n", err);
        free(pattern);
        return 77;
    }
    /* In two writes, the second after the first has started playing. */
    CHECK(audio_sink_write(sink, pattern, n / 2, err, sizeof(err)) == 0);
    CHECK(audio_sink_write(sink, pattern + n / 2, n - n / 2, err, sizeof(err)) == 0);
    r = audio_sink_drain(sink, 10000);
    CHECKF(r == 0, "drain: %d", r);
    /* Torn down while playing: 1 s queued, not waited for. */
    CHECK(audio_sink_write(sink, pattern, n, err, sizeof(err)) == 0);
    audio_sink_free(sink);

    f = fopen(raw_path, "rbe");
    CHECKF(f != NULL, "%s was not written", raw_path);
    if (!f) {
        free(pattern);
        return 1;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        n_played = (size_t)size / sizeof(int16_t);
        played = malloc(n_played * sizeof(*played));
        if (!played || fread(played, sizeof(*played), n_played, f) != n_played) {
            n_played = 0;
        }
    }
    fclose(f);
    /* Silence, then the answer: every sample, in order. The pattern has no
     * zeros, so the silence the callback plays when the ring runs dry (the
     * null device can outrun two back-to-back writes) is told apart. */
    for (size_t i = 0; i < n_played && sound < n; i++) {
        if (played[i] == 0) {
            gaps += sound > 0 && played[i - 1] != 0;
            continue;
        }
        if (found == SIZE_MAX) {
            found = i;
        }
        if (played[i] != pattern[sound]) {
            break;
        }
        sound++;
    }
    CHECKF(sound == n,
           "%zu of %zu samples of the answer in the recording (%zu samples, first "
           "sound at %zu)",
           sound, n, n_played, found);
    printf("device: %zu samples recorded by ALSA; the answer found intact from %zu (%zu gaps)\n",
           n_played, found, gaps);
    free(played);
    free(pattern);
    unlink(raw_path);
    unlink(rc_path);
    return check_failures ? 1 : 0;
}

static long file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* A device chosen by name ([audio] output = speaker:NAME): two ALSA file
 * devices, the default and "harkplay"; what is played on speaker:harkplay
 * (by a part of its name, in another case) reaches its file and not the
 * default's. Unknown names and malformed specs are refused, named. */
static int named_device_child(void)
{
    static const char *bad[] = {"speaker:", "loudspeaker", "mic", "speaker:harkplay-missing"};
    char *default_raw = testdir_path("default.raw");
    char *named_raw = testdir_path("named.raw");
    struct audio_sink *sink = NULL;
    char err[512] = "";
    int16_t *pattern = make_pattern(RATE / 4, 7);
    int r;

    if (write_asoundrc(default_raw, named_raw) < 0) {
        return 1;
    }

    r = audio_sink_open_device("speaker:HARKPLA", err, sizeof(err), &sink);
    if (r < 0 && strstr(err, "no output device")) {
        printf("named device: PortAudio lists no ALSA test device here (%s); skipped\n", err);
        free(pattern);
        return 77;
    }
    CHECKF(r == 0, "open speaker:HARKPLA: %s", err);
    if (r < 0) {
        free(pattern);
        return 1;
    }
    CHECKF(strstr(audio_sink_describe(sink), "speaker:HARKPLA: \"harkplay\"") != NULL,
           "description \"%s\"", audio_sink_describe(sink));
    CHECK(audio_sink_write(sink, pattern, RATE / 4, err, sizeof(err)) == 0);
    CHECKF(audio_sink_drain(sink, 10000) == 0, "drain");
    audio_sink_free(sink);
    printf("named device: %ld bytes played into harkplay, %ld into the default\n",
           file_size(named_raw), file_size(default_raw));
    CHECKF(file_size(named_raw) >= (long)(RATE / 4 * sizeof(int16_t)),
           "harkplay got %ld bytes", file_size(named_raw));
    CHECKF(file_size(default_raw) <= 0, "the default device got %ld bytes", file_size(default_raw));

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sink = NULL;
        r = audio_sink_open_device(bad[i], err, sizeof(err), &sink);
        CHECKF(r < 0 && !sink, "%s opened", bad[i]);
        CHECKF(strstr(err, bad[i]) != NULL, "%s: message \"%s\"", bad[i], err);
        printf("  %-26s -> %s\n", bad[i], err);
        audio_sink_free(sink);
    }
    free(pattern);
    return check_failures ? 1 : 0;
}

int main(void)
{
    testdir_make("sink");
    /* ALSA reads its configuration once per process: a fresh one each. */
    check_in_child(device_child, "device playback test");
    check_in_child(default_device_child, "default device test");
    check_in_child(named_device_child, "named device test");
    test_wav();
    test_wav_errors();
    testdir_remove();
    return check_status();
}
