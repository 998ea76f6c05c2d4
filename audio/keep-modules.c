/* Sanitizer builds only (see audio/meson.build): dlclose() does nothing.
 * ALSA loads its PulseAudio modules (the conf hook of 99-pulse.conf, the pcm
 * plugin) with dlopen, and they keep libpulse state they never free. Once
 * dlclose unmaps them, LeakSanitizer reports that state as leaks of an
 * "<unknown module>", which no suppression can name. Kept mapped, their
 * globals still reach it, and LeakSanitizer reports only our own leaks. */
#include <dlfcn.h>

int dlclose(void *handle)
{
    (void)handle;
    return 0;
}
