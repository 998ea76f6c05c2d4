/* Retention: the clock that decides, records that expire by age or count,
 * and the epoch keys no record needs any more (a crypto-erase). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base-err.h"
#include "base-file.h"
#include "base-le.h"
#include "history-internal.h"

bool hist_expired(const struct history *h, const struct rec *c)
{
    int64_t ret_ms = (int64_t)h->retention_s * 1000;

    return h->clock_ok && h->now_ms >= INT64_MIN + ret_ms && c->time_ms <= h->now_ms - ret_ms;
}

/* Destroys the keys of epochs whose every possible record has expired, and
 * (with sweep) of past epochs no live record uses. */
static int destroy_keys(struct history *h, int64_t now_ms, int64_t cutoff, bool sweep,
                        struct history_report *rep, char *err, size_t errsz)
{
    bool *used = NULL;
    size_t cur = SIZE_MAX, n = 0;
    int r = 0;

    for (size_t i = 0; i < h->nepochs; i++) {
        if (h->epochs[i].usable &&
            (cur == SIZE_MAX || h->epochs[i].number > h->epochs[cur].number)) {
            cur = i;
        }
    }
    if (cur != SIZE_MAX && now_ms >= h->epochs[cur].end_ms) {
        cur = SIZE_MAX;
    }
    if (sweep && h->nepochs > 0) {
        used = calloc(h->nepochs, sizeof(*used));
        if (!used) {
            return err_fail(err, errsz, -ENOMEM, "out of memory");
        }
        for (size_t i = 0, last = SIZE_MAX; i < h->nrec; i++) {
            const struct rec *c = &h->recs[i];
            if (c->state != REC_OK) {
                continue;
            }
            if (last == SIZE_MAX || h->epochs[last].number != c->epoch) {
                last = hist_epoch_index(h, c->epoch);
            }
            if (last != SIZE_MAX) {
                used[last] = true;
            }
        }
    }
    for (size_t i = 0; i < h->nepochs; i++) {
        struct epoch *ep = &h->epochs[i];
        if (!ep->usable) {
            continue;
        }
        if (ep->end_ms <= cutoff || (used && i != cur && !used[i])) {
            ep->destroy = true;
            n++;
        }
    }
    free(used);
    if (n > 0) {
        r = hist_write_keys(h, err, errsz);
        if (r == 0) {
            if (rep) {
                rep->keys_destroyed += n;
            }
            r = hist_recheck_states(h);
            if (r < 0) {
                err_fail(err, errsz, r, "%s: cannot read: %s", h->hist_path, strerror(-r));
            }
            hist_place(h);
        }
    }
    return r;
}

/* Takes now_ms as the time that decides what has expired, unless it is
 * more than a day behind the newest record or epoch (then nothing expires). */
bool hist_set_clock(struct history *h, int64_t now_ms, struct history_report *rep)
{
    int64_t newest = h->newest_ms;

    for (size_t i = 0; i < h->nepochs; i++) {
        if (h->epochs[i].usable && h->epochs[i].start_ms > newest) {
            newest = h->epochs[i].start_ms;
        }
    }
    h->now_ms = now_ms;
    h->clock_ok = !(newest > now_ms && (uint64_t)newest - (uint64_t)now_ms > (uint64_t)DAY_MS);
    if (!h->clock_ok) {
        hist_note(
            rep,
            "the clock (%lld ms) is %llu s behind the newest record: nothing expired (a device "
            "without a real-time clock before its time is set?)",
            (long long)now_ms, ull(((uint64_t)newest - (uint64_t)now_ms) / 1000));
    }
    return h->clock_ok;
}

/* Retention at now_ms: records expired by age or beyond max_entries go from
 * the head (the header's start moves; the bytes go at the next rewrite),
 * then the keys no record needs. Nothing when the clock is far behind. */
int hist_apply_retention(struct history *h, int64_t now_ms, bool sweep, struct history_report *rep,
                         char *err, size_t errsz)
{
    int64_t ret_ms = (int64_t)h->retention_s * 1000;
    int64_t cutoff = now_ms >= INT64_MIN + ret_ms ? now_ms - ret_ms : INT64_MIN;
    size_t k = 0;
    int r;

    if (!hist_set_clock(h, now_ms, rep)) {
        return 0;
    }
    if (!h->header_bad) {
        for (size_t i = 0; i < h->nrec; i++) {
            if (h->recs[i].state == REC_BAD) {
                continue;
            }
            if (h->recs[i].time_ms > cutoff) {
                break;
            }
            k = i + 1;
        }
        if (h->max_entries > 0 && h->nrec - k > h->max_entries) {
            k = h->nrec - h->max_entries;
        }
    }
    if (k > 0) {
        uint64_t first = h->first_id;
        for (size_t i = 0; i < k; i++) {
            if (h->recs[i].state == REC_OK && h->recs[i].id >= first &&
                h->recs[i].id < UINT64_MAX) {
                first = h->recs[i].id + 1;
            }
        }
        if (k == h->nrec && h->next_id > first) {
            first = h->next_id;
        }
        r = hist_write_slot(h, first, k < h->nrec ? h->recs[k].off : h->scanned_end, err, errsz);
        if (r < 0) {
            return r;
        }
        memmove(h->recs, h->recs + k, (h->nrec - k) * sizeof(*h->recs));
        h->nrec -= k;
        if (h->next_id < h->first_id) {
            h->next_id = h->first_id;
        }
        hist_place(h);
        if (rep) {
            rep->expired += k;
        }
    }
    r = destroy_keys(h, now_ms, cutoff, sweep || k > 0, rep, err, errsz);
    if (r < 0) {
        return r;
    }
    if (k > 0 && h->data_off - HEADER_SIZE >= COMPACT_MIN &&
        h->data_off - HEADER_SIZE >= h->scanned_end - h->data_off) {
        r = hist_rewrite(h, SIZE_MAX, NULL, 0, err, errsz);
    }
    return r;
}
