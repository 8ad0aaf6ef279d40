/*
 * win_map.c — the named file mappings behind locks (the name record,
 * win_mutex.c) and shared memory (win_shm.c): exclusive creation, and the
 * "unlinked" mark that stands in for a name Windows cannot remove while
 * handles to it exist.
 */
#include "win_internal.h"

pp_status pp__win_map_create(const wchar_t *wname, uint64_t size, HANDLE *map, void **view)
{
    HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, (DWORD)(size >> 32),
                                  (DWORD)(size & 0xffffffffu), wname);
    DWORD err = GetLastError();
    pp_status st;

    if (h == NULL) {
        /* A mutex, event... already uses this name: taken, too. */
        if (err == ERROR_INVALID_HANDLE) {
            pp__plat_set_os_error((long)err);
            return PP_EEXIST;
        }
        return pp__plat_fail((long)err);
    }
    if (err == ERROR_ALREADY_EXISTS) {
        /* Opened someone else's mapping instead of creating one. */
        CloseHandle(h);
        return pp__plat_fail((long)err);
    }
    *view = MapViewOfFile(h, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
    if (*view == NULL) {
        st = pp__win_fail_last();
        CloseHandle(h);
        return st;
    }
    *map = h;
    return PP_OK;
}

pp_status pp__win_mark_unlinked(const wchar_t *wname, uint32_t magic, size_t unlinked_off)
{
    unsigned char *view;
    pp_status st = PP_OK;
    HANDLE map;

    map = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, wname);
    if (map == NULL)
        return GetLastError() == ERROR_FILE_NOT_FOUND ? PP_OK : pp__win_fail_last();
    view = (unsigned char *)MapViewOfFile(map, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
    if (view == NULL) {
        st = pp__win_fail_last();
    } else {
        if (*(const volatile uint32_t *)view == magic)
            InterlockedExchange((volatile LONG *)(view + unlinked_off), 1);
        else
            st = PP_EINVAL;
        UnmapViewOfFile(view);
    }
    CloseHandle(map);
    return st;
}
