/* The config written out from the key table: the effective values as an
 * INI file (`hark check-config --dump`) and the reference of every key
 * (doc/config.md). */
#include <stdio.h>
#include <string.h>

#include "config-internal.h"

static const char *type_name(enum key_type type)
{
    switch (type) {
    case KEY_STRING:
        return "string";
    case KEY_LIST:
        return "list";
    case KEY_DURATION:
        return "duration";
    case KEY_DOUBLE:
        return "number";
    case KEY_PHRASES:
        return "phrase list";
    case KEY_UINT:
        return "integer";
    case KEY_BOOL:
        return "on/off";
    case KEY_PERIOD:
        return "period";
    case KEY_MODELS:
        return "file list";
    }
    return "?";
}

/* The value as the file would say it; phrases that use the default threshold
 * leave it out, so the defaults dump as they are written in the table. */
static void format_value(const struct hark_config *cfg, const struct key *k, const char *sep,
                         char *buf, size_t size)
{
    const void *field = key_cfield(cfg, k);

    buf[0] = '\0';
    switch (k->type) {
    case KEY_STRING:
    case KEY_LIST:
        snprintf(buf, size, "%s", (const char *)field);
        break;
    case KEY_DURATION:
        config_format_duration(*(const unsigned *)field, buf, size);
        break;
    case KEY_DOUBLE:
        config_format_double(*(const double *)field, buf, size);
        break;
    case KEY_UINT:
        snprintf(buf, size, "%u", *(const unsigned *)field);
        break;
    case KEY_BOOL:
        snprintf(buf, size, "%s", *(const bool *)field ? "on" : "off");
        break;
    case KEY_PERIOD:
        config_format_period(*(const uint64_t *)field, buf, size);
        break;
    case KEY_MODELS:
        for (size_t i = 0, o = 0; i < cfg->wakeword.n_models && o < size; i++) {
            o += (size_t)snprintf(buf + o, size - o, "%s%s", i > 0 ? sep : "",
                                  cfg->wakeword.models[i]);
        }
        break;
    case KEY_PHRASES:
        for (size_t i = 0, o = 0; i < cfg->wakeword.n_phrases && o < size; i++) {
            const struct config_phrase *ph = &cfg->wakeword.phrases[i];
            char thr[64] = "";

            /* A phrase's own cut-off needs its threshold before it. */
            if (ph->threshold != cfg->wakeword.threshold ||
                ph->verify_threshold != cfg->wakeword.verify_threshold) {
                thr[0] = '/';
                config_format_double(ph->threshold, thr + 1, sizeof(thr) - 1);
            }
            if (ph->verify_threshold != cfg->wakeword.verify_threshold) {
                size_t len = strlen(thr);

                thr[len++] = '/';
                config_format_double(ph->verify_threshold, thr + len, sizeof(thr) - len);
            }
            o += (size_t)snprintf(buf + o, size - o, "%s%s%s", i > 0 ? sep : "", ph->text, thr);
        }
        break;
    }
}

void config_dump(const struct hark_config *cfg, FILE *out)
{
    locale_t old, c = config_locale_enter(&old);
    const char *section = NULL;
    /* Every value fits a line, so the dump reads back. */
    char value[CONFIG_LINE_MAX];

    for (size_t i = 0; i < config_n_keys; i++) {
        const struct key *k = &config_keys[i];

        if (!section || strcmp(section, k->section) != 0) {
            fprintf(out, "%s[%s]\n", section ? "\n" : "", k->section);
            section = k->section;
        }
        format_value(cfg, k, ", ", value, sizeof(value));
        fprintf(out, "%s = %s\n", k->name, value);
    }
    config_locale_leave(c, old);
}

/* Markdown table cells: a '|' would end the cell. */
static void write_cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') {
            fputc('\\', out);
        }
        fputc(*s, out);
    }
}

void config_write_reference(FILE *out)
{
    locale_t old, c = config_locale_enter(&old);
    char range[128];

    fputs("<!-- Generated from the key table in src/config/config-keys.c by\n"
          "     config_write_reference(); do not edit. To regenerate after changing the\n"
          "     table, run\n"
          "     HARK_WRITE_REFERENCE=1 meson test -C BUILDDIR config -->\n"
          "\n"
          "# Configuration\n"
          "\n"
          "hark reads one INI file. When none is named, it uses the first of these that "
          "exists:\n"
          "`$XDG_CONFIG_HOME/hark/hark.conf` (or `~/.config/hark/hark.conf`), then\n"
          "`SYSCONFDIR/hark/hark.conf` (SYSCONFDIR is set at build time: `/etc` in\n"
          "distribution packages, `/usr/local/etc` when built with meson's defaults).\n"
          "Without a file every key has its default. `samples/hark.conf` lists every key.\n"
          "\n"
          "## Syntax\n"
          "\n"
          "```ini\n"
          "; a comment\n"
          "[endpoint]\n"
          "silence = 700ms   ; a comment after a value\n"
          "```\n"
          "\n"
          "* `[section]` headers and `key = value` lines; every key belongs to a section, and\n"
          "  each key may appear once. Unknown sections and keys are errors, so that a typing\n"
          "  mistake does not go unnoticed. A header stands alone on its line: anything after\n"
          "  its `]` but a comment is an error.\n"
          "* A line starting with `;` or `#` is a comment. After a value or a header, ` ;`\n"
          "  (with a blank before it) starts a comment; ` #` there is an error.\n"
          "* Keys and headers start in the first column: an indented line is an error, and a\n"
          "  value cannot continue on the next line.\n"
          "* Durations need a unit: `700ms`, `0.7s`, `5s` (whole milliseconds). Periods are\n"
          "  whole numbers with a unit: `30s`, `24h`, `7d`, `6mo`. Switches are `on` or `off`.\n"
          "* Lines end in LF or CRLF (a CR alone is an error) and are at most ",
          out);
    fprintf(out,
            "%d bytes;\n"
            "  the file is at most %d KiB. A string holds at most %d bytes, a list (the rules\n"
            "  of `[privacy]`) %d.\n",
            CONFIG_LINE_MAX, CONFIG_FILE_MAX / 1024, CONFIG_STRING_MAX - 1, CONFIG_LIST_MAX - 1);
    fputs("\n"
          "hark reports the first error as `FILE:LINE: message`, for example\n"
          "`hark.conf:7: unknown key 'silense' in [endpoint]`, and then uses nothing from the\n"
          "file.\n",
          out);

    for (size_t s = 0; s < config_n_sections; s++) {
        fprintf(out, "\n## [%s]\n\n%s\n\n", config_sections[s].name, config_sections[s].help);
        fputs("| Key | Type | Default | Range | Description |\n"
              "|-----|------|---------|-------|-------------|\n",
              out);
        for (size_t i = 0; i < config_n_keys; i++) {
            const struct key *k = &config_keys[i];

            if (strcmp(k->section, config_sections[s].name) != 0) {
                continue;
            }
            config_format_range(k, range, sizeof(range));
            fprintf(out, "| `%s` | %s | ", k->name, type_name(k->type));
            if (k->doc_def) {
                write_cell(out, k->doc_def);
            } else if (k->def[0] == '\0') {
                fputs("not set", out);
            } else {
                fputc('`', out);
                write_cell(out, k->def);
                fputc('`', out);
            }
            fputs(" | ", out);
            write_cell(out, range);
            fputs(" | ", out);
            write_cell(out, k->help);
            fputs(" |\n", out);
        }
    }
    config_locale_leave(c, old);
}
