/**
 * @file export.h
 * @brief Symbol visibility for the procpool library (DLL export/import).
 *
 * Consumers of a static procpool define PP_STATIC (procpool.pc does it for
 * the static flavour); the library's own build defines PP_BUILDING.
 */
#ifndef PROCPOOL_EXPORT_H
#define PROCPOOL_EXPORT_H

#if defined(PP_STATIC)
#define PP_API
#elif defined(_WIN32) || defined(__CYGWIN__)
#if defined(PP_BUILDING)
#define PP_API __declspec(dllexport)
#else
#define PP_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#define PP_API __attribute__((visibility("default")))
#else
#define PP_API
#endif

/** printf-style format checking where the compiler has it. */
#if defined(__GNUC__) || defined(__clang__)
#define PP_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PP_PRINTF(fmt, args)
#endif

#endif /* PROCPOOL_EXPORT_H */
