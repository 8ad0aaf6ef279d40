/*
 * bench_limits.h — the machine's physical references, measured by the
 * benchmarks in the same run as procpool's figures (bench_pool, bench_lock):
 * what the OS itself costs for what procpool does (a pipe round trip, a
 * process start, a memory copy, a robust mutex), and the parent's peak
 * memory. Compiled into the benchmarks only: bench_limits.c calls the OS
 * directly (POSIX or Win32), which procpool's own sources never do outside
 * platform/.
 *
 * Each measurement returns a positive figure, or 0 with *why set to the
 * reason it is not available on this platform (the caller prints it).
 * bench_pool keeps the best of several batches of each (other jobs on the
 * machine can only slow a limit down).
 */
#ifndef BENCH_LIMITS_H
#define BENCH_LIMITS_H

#include <stddef.h>
#include <stdint.h>

/* Call first in main(), before pp_init(): if argv asks for one of the
 * helper modes the limits use (a trivial program that exits at once, a
 * pipe echo, a mutex contender), runs it and returns its exit status;
 * otherwise returns -1 and remembers argv[0] (to start itself again). */
int bl_child_main(int argc, char **argv);

/* 1-byte ping-pong between this process and a child over two pipes: the
 * mean round trip in microseconds over n round trips. */
double bl_pipe_roundtrip_us(int n, const char **why);

/* fork() + _exit(0) in the child + waitpid(): mean microseconds of one
 * (POSIX only). */
double bl_fork_exit_wait_us(int n, const char **why);

/* posix_spawn() (Windows: CreateProcess()) of this program in its trivial
 * mode, which exits at once, + wait: mean microseconds of one. */
double bl_spawn_exit_wait_us(int n, const char **why);

/* memcpy() between two buffers of `bytes` each (larger than the caches),
 * best of reps copies: bytes copied per second / 1e9 (GB/s). */
double bl_memcpy_gbps(size_t bytes, int reps, const char **why);

/* A robust process-shared pthread mutex in shared memory (Windows: a named
 * mutex): uncontended lock+unlock pairs per second in one process, best of
 * runs runs of `pairs` pairs. */
double bl_mutex_pairs_per_s(int64_t pairs, int runs, const char **why);

/* The same mutex, nproc processes each doing incr increments of one shared
 * counter under it (checked at the end): increments per second, best of
 * runs runs; start-up not timed (the parent holds the mutex until every
 * contender is ready). */
double bl_mutex_contended_incr_per_s(int nproc, int64_t incr, int runs, const char **why);

/* Peak memory of this process (resident set; Windows: working set).
 * bl_mem_begin() returns the resident bytes now, after giving freed heap
 * memory back to the OS where the C library can, and starts a new peak
 * (Linux: /proc/self/clear_refs; elsewhere the peak is the process's since
 * it started, which the caller's order of rows must allow for);
 * bl_mem_reset_peak() starts a new peak without a new baseline;
 * bl_mem_peak() the peak resident bytes since then. -1 (with *why) when
 * the platform does not tell. */
int64_t bl_mem_begin(const char **why);
void bl_mem_reset_peak(void);
int64_t bl_mem_peak(const char **why);

/* Adler-32 (RFC 1950) of data[0..n), continuing from adler (1 to start):
 * the cheap task of the byte rows, the same algorithm as Python's
 * zlib.adler32 (the twin uses that). */
uint32_t bl_adler32(uint32_t adler, const unsigned char *data, size_t n);

#endif /* BENCH_LIMITS_H */
