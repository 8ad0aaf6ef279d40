/*
 * bench_limits.c — the parts of bench_limits.h that are the same on every
 * platform (memcpy bandwidth, Adler-32); bench_limits_posix.c and
 * bench_limits_win32.c have the OS calls (pipes, process starts, the raw
 * mutex, peak memory). Benchmarks only: procpool's sources reach the OS
 * through platform/ alone.
 */
#include "bench_limits.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "procpool/clock.h"

/* --------------------------------------------------------------- memcpy */

double bl_memcpy_gbps(size_t bytes, int reps, const char **why)
{
    unsigned char *src = malloc(bytes), *dst = malloc(bytes);
    volatile unsigned char sink;
    int64_t best = INT64_MAX;
    int r;

    if (src == NULL || dst == NULL || bytes == 0) {
        free(src);
        free(dst);
        *why = "no memory for the buffers";
        return 0;
    }
    memset(src, 0x5a, bytes); /* both buffers resident before timing */
    memset(dst, 0xa5, bytes);
    for (r = 0; r < reps; r++) {
        int64_t t0 = pp_monotonic_ns(), dt;
        src[(size_t)r % bytes] = (unsigned char)r;
        memcpy(dst, src, bytes);
        dt = pp_monotonic_ns() - t0;
        if (dt < best)
            best = dt;
    }
    sink = dst[bytes / 2];
    (void)sink;
    free(src);
    free(dst);
    return (double)bytes / (double)(best > 0 ? best : 1); /* bytes/ns = GB/s */
}

/* --------------------------------------------------------------- adler32 */

#define ADLER_BASE 65521u
#define ADLER_NMAX 5552 /* most bytes before b can overflow 32 bits */

uint32_t bl_adler32(uint32_t adler, const unsigned char *p, size_t n)
{
    uint32_t a = adler & 0xffffu, b = adler >> 16;

    while (n > 0) {
        size_t k = n < ADLER_NMAX ? n : ADLER_NMAX;
        n -= k;
        for (; k >= 8; k -= 8, p += 8) {
            a += p[0];
            b += a;
            a += p[1];
            b += a;
            a += p[2];
            b += a;
            a += p[3];
            b += a;
            a += p[4];
            b += a;
            a += p[5];
            b += a;
            a += p[6];
            b += a;
            a += p[7];
            b += a;
        }
        for (; k > 0; k--) {
            a += *p++;
            b += a;
        }
        a %= ADLER_BASE;
        b %= ADLER_BASE;
    }
    return (b << 16) | a;
}
