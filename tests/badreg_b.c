/* badreg_b.c — the second translation unit of badreg (see badreg_a.c). */
#include "procpool/procpool.h"

static int job(pp_task *t)
{
    return pp_values_add_int(pp_task_result(t), 2);
}
PP_TASK_REGISTER(job)

pp_task_fn badreg_b_job(void);

pp_task_fn badreg_b_job(void)
{
    return job;
}
