/*
 * test_redis_none.c — the redis suite of a build without hiredis: redis.h
 * says so (PP_ENOTSUP) instead of failing silently.
 */
#include <stddef.h>

#include "procpool/procpool.h"
#include "pp_test.h"

static void t_not_supported(void)
{
    pp_redis *r = (pp_redis *)&r;
    pp_lock *l = (pp_lock *)&l;

    PP_ASSERT_STATUS(pp_redis_connect("redis://127.0.0.1:6379", NULL, &r), PP_ENOTSUP);
    CU_ASSERT_PTR_NULL(r);
    PP_ASSERT_STATUS(pp_redis_lock_create(NULL, "x", &l), PP_ENOTSUP);
    CU_ASSERT_PTR_NULL(l);
    pp_redis_destroy(NULL);
}

/* clang-format off */
static const pp_test_case cases[] = {
    PP_TEST(t_not_supported),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(redis)
{
    pp_test_add_suite("redis", cases);
}
