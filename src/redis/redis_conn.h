/*
 * redis_conn.h — one connection to a Redis server (hiredis), the way the
 * redis layer uses it: connect and authenticate with deadlines, commands
 * with a reply deadline, and a handle that breaks for good on any
 * transport failure (later calls fail at once with PP_ECONNLOST, never
 * waiting on a connection that cannot answer).
 *
 * hiredis 0.14 (Debian 12) and 1.x (the Windows prefix, vcpkg, MSYS2,
 * Homebrew) share the calls used here: redisConnectWithTimeout,
 * redisSetTimeout, redisCommandArgv, freeReplyObject and reply types 1–6.
 * After a read timeout a hiredis context is unusable (the reply may still
 * come): the connection is marked broken.
 */
#ifndef PROCPOOL_REDIS_REDIS_CONN_H
#define PROCPOOL_REDIS_REDIS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "procpool/error.h"
#include "procpool/redis.h"
#include "platform.h"

/* Longest host name of an address. */
#define PP__REDIS_HOST_MAX 255

typedef struct pp__redis_conn pp__redis_conn;

/* A reply, decoded into what the redis layer needs (no hiredis type
 * leaks out of redis_conn.c). */
typedef struct pp__redis_reply {
    int kind; /* PP__RR_* */
    int64_t integer;
    /* PP__RR_ARRAY of integers: up to 4 of them */
    size_t n;
    int64_t ints[4];
    char str[128]; /* status, error or (short) bulk string, truncated */
} pp__redis_reply;

enum { PP__RR_NIL, PP__RR_INT, PP__RR_STR, PP__RR_STATUS, PP__RR_ERROR, PP__RR_ARRAY };

/* Parse "redis://[user@]host:port" or "tcp://host:port" (user is
 * ignored: the username comes from the options). PP_EINVAL if malformed. */
pp_status pp__redis_parse_address(const char *address, char host[PP__REDIS_HOST_MAX + 1],
                                  int *port);

/* The credentials a process takes from its environment (never argv):
 * *user from PROCPOOL_REDIS_USERNAME, *pass from PROCPOOL_REDIS_PASSWORD or
 * from the file named by PROCPOOL_REDIS_PASSWORD_FILE (private to its
 * owner on POSIX; its first line), each a malloc'd copy or NULL (none;
 * the caller frees them with pp__redis_wipe_free()). Errors, each logged
 * with the reason: PP_EINVAL (both password variables set, an empty
 * password file), PP_EACCES (the file is readable by others), PP_ENOENT,
 * PP_ETOOBIG (above 512 bytes), PP_ENOMEM. */
pp_status pp__redis_env_credentials(char **user, char **pass);

/* *out = a malloc'd copy of s, or NULL for NULL or "" (no credential);
 * PP_ENOMEM. Free it with pp__redis_wipe_free(). */
pp_status pp__redis_secret_dup(const char *s, char **out);

/* Overwrite a secret string with zeros and free it; NULL ok. */
void pp__redis_wipe_free(char *s);

/* Connect within timeout_ms and AUTH (password NULL: none; username NULL:
 * the default user). Commands then time out after reply_ms.
 * PP_ECONNLOST: nobody answers; PP_EAUTH: the server refused the
 * credentials (or wants some); PP_EINVAL: bad address; PP_ENOMEM. */
pp_status pp__redis_conn_open(const char *address, const char *username, const char *password,
                              int64_t timeout_ms, int64_t reply_ms, pp__redis_conn **out);

/* Run one command (argv of argc strings, lengths given) and decode its
 * reply. Serialized per connection (a mutex). PP_OK: *reply holds it (a
 * Redis error reply is PP__RR_ERROR, not a transport failure);
 * PP_ECONNLOST: the connection broke or did not answer within its reply
 * deadline (the handle is broken from now on); PP_ESTATE: called in a
 * process other than the one that opened it (a fork child). */
pp_status pp__redis_conn_cmd(pp__redis_conn *c, int argc, const char **argv, const size_t *lens,
                             pp__redis_reply *reply);

/* The same with the reply deadline set to wait_ms + the connection's
 * reply deadline for this one command (a blocking command: BLPOP). */
pp_status pp__redis_conn_cmd_wait(pp__redis_conn *c, int64_t wait_ms, int argc, const char **argv,
                                  const size_t *lens, pp__redis_reply *reply);

/* A reply as a tree, for replies with nested arrays and binary strings
 * (streams). */
typedef struct pp__redis_val {
    int kind; /* PP__RR_* */
    int64_t integer;
    char *str; /* strings, status, error: len bytes and a NUL (NULL otherwise) */
    size_t len;
    size_t n; /* PP__RR_ARRAY: elements */
    struct pp__redis_val *elem;
} pp__redis_val;

/* Run one command (wait_ms > 0: a blocking one, as pp__redis_conn_cmd_wait)
 * and return its reply as a tree in *out (pp__redis_val_free()). Errors
 * as pp__redis_conn_cmd(), and PP_ENOMEM (*out NULL then). */
pp_status pp__redis_conn_cmd_val(pp__redis_conn *c, int64_t wait_ms, int argc, const char **argv,
                                 const size_t *lens, pp__redis_val **out);
void pp__redis_val_free(pp__redis_val *v);

int pp__redis_conn_broken(pp__redis_conn *c);
void pp__redis_conn_close(pp__redis_conn *c);

#endif /* PROCPOOL_REDIS_REDIS_CONN_H */
