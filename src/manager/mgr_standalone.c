/*
 * mgr_standalone.c — the procpool-manager program: a manager server of
 * its own, serving the address given on its command line until SIGINT /
 * SIGTERM (Ctrl-C, console close on Windows). The same server as a
 * started manager's (mgr_server.h); only the front end differs: the key
 * comes from a file or the environment, never the command line (argv is
 * visible to every user of the machine), and logging goes to stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_env.h>
#include <apr_pools.h>
#include <sodium.h>

#include "procpool/log.h"
#include "procpool/manager.h"
#include "platform.h"
#include "core/core.h"
#include "manager/manager.h"
#include "manager/mgr_server.h"

/* Exit codes (documented in the help). */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_KEY = 3 };

#define STOP_WAIT_MS 3000
#define KEY_ENV      "PROCPOOL_MANAGER_KEY"

static const char g_usage[] =
    "usage: procpool-manager --listen ADDRESS [--key-file FILE] [--quiet]\n"
    "       procpool-manager --help\n"
    "\n"
    "Serve procpool manager objects (locks) to programs that connect with\n"
    "pp_manager_connect(ADDRESS, KEY) and prove the key.\n"
    "\n"
    "  --listen ADDRESS  where to listen:\n"
    "                      tcp://HOST:PORT    HOST a name, an IPv4 literal or an\n"
    "                                         IPv6 literal in brackets ([::1]);\n"
    "                                         PORT 0: one the system picks.\n"
    "                                         Use 127.0.0.1 for this machine only;\n"
    "                                         0.0.0.0 (every interface) only on\n"
    "                                         a trusted network: traffic is\n"
    "                                         authenticated, not encrypted.\n"
    "                      unix:///PATH       a Unix domain socket (POSIX), made\n"
    "                                         0600; a stale socket file there is\n"
    "                                         replaced, and removed at exit.\n"
    "                    The address listened on (with the real port) is printed\n"
    "                    on stdout as \"listening on ADDRESS\" once serving.\n"
    "  --key-file FILE   the key: the file's bytes exactly (1 to 256), or, if it\n"
    "                    starts with \"hex:\", the bytes of the hex digits after it\n"
    "                    (whitespace at the end ignored). POSIX: the file must be\n"
    "                    yours and not accessible by group or others (chmod 600),\n"
    "                    else it is refused. Windows: its ACL is not checked.\n"
    "  (environment)     without --key-file, " KEY_ENV " holds the key, in\n"
    "                    the same two forms (\"hex:...\" or the raw value).\n"
    "                    The key is never taken from the command line.\n"
    "  --quiet           log only warnings (auth failures, malformed requests),\n"
    "                    not every connection.\n"
    "  --help            this text.\n"
    "\n"
    "Logging: one line per event on stderr (\"procpool: manager: ...\").\n"
    "Stop: SIGINT or SIGTERM (Windows: Ctrl-C, Ctrl-Break, closing the console):\n"
    "no new connections, every client connection is closed (its calls fail with\n"
    "PP_ECONNLOST), a unix socket file is removed, exit status 0.\n"
    "\n"
    "Exit status: 0 stopped by a signal; 1 could not serve (address in use,\n"
    "not allowed, ...); 2 usage error; 3 no usable key (missing, empty, too\n"
    "long, bad hex, or a key file others can access).\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "procpool-manager: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(procpool-manager --help tells how to use it)\n");
    return EXIT_USAGE;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "hex:..." decoded in place, else the raw bytes. 0: no usable key. */
static int decode_key(uint8_t *buf, size_t *len)
{
    size_t n = *len, i;

    if (n < 4 || memcmp(buf, "hex:", 4) != 0)
        return n > 0 && n <= PP_MANAGER_KEY_MAX;
    while (n > 4 &&
           (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        n--;
    n -= 4;
    if (n == 0 || n % 2 != 0 || n / 2 > PP_MANAGER_KEY_MAX)
        return 0;
    for (i = 0; i < n / 2; i++) {
        int hi = hexval((char)buf[4 + 2 * i]), lo = hexval((char)buf[4 + 2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        buf[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return 1;
}

/* The key from the file or the environment; EXIT_OK or EXIT_KEY. */
static int load_key(const char *file, uint8_t *key, size_t *keylen)
{
    /* room for "hex:", two digits per byte and a line end */
    static uint8_t buf[4 + 2 * PP_MANAGER_KEY_MAX + 8];
    size_t len = 0;
    int ok;

    if (file != NULL) {
        pp_status st = pp__plat_read_private_file(file, buf, sizeof buf, &len);
        if (st != PP_OK) {
            fprintf(stderr, "procpool-manager: key file %s: %s%s\n", file,
                    st == PP_EACCES ? "refused: group or others can access it, or it is not "
                                      "yours (chmod 600 it)"
                                    : pp_strerror(st),
                    st == PP_ETOOBIG ? " (longer than a key can be)" : "");
            return EXIT_KEY;
        }
    } else {
        apr_pool_t *pool = NULL;
        char *v = NULL;
        if (apr_pool_create(&pool, NULL) == APR_SUCCESS &&
            apr_env_get(&v, KEY_ENV, pool) == APR_SUCCESS) {
            len = strlen(v);
            if (len > sizeof buf)
                len = sizeof buf; /* too long: refused below */
            memcpy(buf, v, len);
            sodium_memzero(v, strlen(v));
        }
        if (pool != NULL)
            apr_pool_destroy(pool);
        if (len == 0) {
            fprintf(stderr, "procpool-manager: no key: give --key-file FILE or set " KEY_ENV "\n");
            return EXIT_KEY;
        }
    }
    ok = decode_key(buf, &len);
    if (ok) {
        memcpy(key, buf, len);
        *keylen = len;
    } else {
        fprintf(stderr,
                "procpool-manager: the key is not usable: 1 to %d bytes, or \"hex:\" and an "
                "even number of hex digits\n",
                PP_MANAGER_KEY_MAX);
    }
    sodium_memzero(buf, sizeof buf);
    return ok ? EXIT_OK : EXIT_KEY;
}

int pp__manager_standalone_main(int argc, char **argv)
{
    const char *listen = NULL, *key_file = NULL, *why;
    char bound[PP_MANAGER_ADDR_MAX];
    uint8_t key[PP_MANAGER_KEY_MAX];
    size_t keylen = 0;
    int i, quiet = 0, rc;
    pp_status st;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(g_usage, stdout);
            return EXIT_OK;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else if (strcmp(a, "--listen") == 0 || strcmp(a, "--key-file") == 0) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", a);
            if (a[2] == 'l')
                listen = argv[++i];
            else
                key_file = argv[++i];
        } else if (strncmp(a, "--key=", 6) == 0 || strcmp(a, "--key") == 0) {
            return usage_error("%s: the key is never taken from the command line (others can "
                               "read it there): use --key-file or " KEY_ENV,
                               a);
        } else {
            return usage_error("unknown argument '%s'", a);
        }
    }
    if (listen == NULL)
        return usage_error("%s", "--listen ADDRESS is required");
    rc = load_key(key_file, key, &keylen);
    if (rc != EXIT_OK)
        return rc;
    pp_set_log_hook(NULL, NULL, quiet ? PP_LOG_WARN : PP_LOG_INFO);
    st = pp__plat_stop_signals_catch();
    if (st == PP_OK)
        st = pp__mgr_server_start(listen, key, keylen, bound);
    sodium_memzero(key, sizeof key);
    if (st == PP_EINVAL || st == PP_ENOTSUP || st == PP_ETOOBIG) {
        fprintf(stderr,
                "procpool-manager: cannot listen on '%s': %s (expected tcp://HOST:PORT or "
                "unix:///PATH%s)\n",
                listen, pp_strerror(st),
                st == PP_ENOTSUP   ? "; unix sockets are not offered on this system"
                : st == PP_ETOOBIG ? "; the socket path is too long for this system"
                                   : "");
        return EXIT_USAGE;
    }
    if (st != PP_OK) {
        fprintf(stderr, "procpool-manager: cannot listen on %s: %s (%s)\n", listen, pp_strerror(st),
                pp_err_name(st));
        pp__mgr_server_stop(0);
        return EXIT_FAILED;
    }
    printf("listening on %s\n", bound);
    fflush(stdout);
    pp__log(PP_LOG_INFO, "manager: listening on %s (pid %llu)", bound,
            (unsigned long long)pp__plat_getpid());
    while ((why = pp__plat_stop_signal_wait(PP_INFINITE)) == NULL)
        ;
    pp__log(PP_LOG_INFO, "manager: %s: stopping", why);
    pp__mgr_server_stop(STOP_WAIT_MS);
    pp__log(PP_LOG_INFO, "manager: stopped");
    return EXIT_OK;
}
