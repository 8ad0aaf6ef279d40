/*
 * task.c — what a running task sees of itself (procpool/task.h): its
 * arguments, its result tuple, its index, and how it reports failure.
 */
#include <stdarg.h>
#include <stdio.h>

#include "pool/task_internal.h"

const pp_values *pp_task_args(const pp_task *task)
{
    return task ? task->args : NULL;
}

pp_values *pp_task_result(pp_task *task)
{
    return task ? task->result : NULL;
}

uint64_t pp_task_index(const pp_task *task)
{
    return task ? task->index : 0;
}

int pp_task_fail(pp_task *task, int code, const char *fmt, ...)
{
    va_list ap;

    if (code == 0)
        code = 1;
    if (task == NULL)
        return code;
    task->failed = 1;
    task->code = code;
    task->message[0] = '\0';
    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(task->message, sizeof task->message, fmt, ap);
        va_end(ap);
    }
    return code;
}
