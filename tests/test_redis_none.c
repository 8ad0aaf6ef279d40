/*
 * test_redis_none.c — the redis suite of a build without hiredis: redis.h
 * says so (PP_ENOTSUP) instead of failing silently.
 */
#include <stddef.h>
#include <string.h>

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

/* A pool with a broker: refused, with a message, no pool. */
static void t_broker_not_supported(void)
{
    pp_pool_options o;
    pp_pool *p = (pp_pool *)&p;

    memset(&o, 0, sizeof o);
    o.processes = 1;
    o.broker = "redis://127.0.0.1:6379/pool";
    PP_ASSERT_STATUS(pp_pool_create(&p, &o), PP_ENOTSUP);
    CU_ASSERT_PTR_NULL(p);
}

/* clang-format off */
static const pp_test_case pool_cases[] = {
    PP_TEST(t_broker_not_supported),
    PP_TEST_END,
};
/* clang-format on */

PP_TEST_SUITE(redis_pool)
{
    pp_test_add_suite("redis_pool", pool_cases);
}
