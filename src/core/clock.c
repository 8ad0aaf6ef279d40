/*
 * clock.c — the public clock and sleep (procpool/clock.h): the port's
 * monotonic clock and sleep, as they are.
 */
#include "procpool/clock.h"
#include "platform.h"

int64_t pp_monotonic_ms(void)
{
    return pp__plat_now_ms();
}

int64_t pp_monotonic_ns(void)
{
    return pp__plat_now_ns();
}

void pp_sleep_ms(int64_t ms)
{
    if (ms > 0)
        pp__plat_sleep_ms(ms);
}
