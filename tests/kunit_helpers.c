// SPDX-License-Identifier: GPL-2.0
/*
 * C side of the KUnit test module: the allocator's own helpers (same source, linked into
 * this module too), plus wrappers of KUnit's static inlines and of WARN for the harness's
 * failure-injection switch.
 */
#include <kunit/test.h>
#include <linux/bug.h>
#include <linux/cpumask.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include "../sys/helpers.c"
#include "../sys/params.c"

void rzs_kunit_fail(struct kunit *test, const char *file, size_t file_len, u32 line,
		    const char *what, size_t what_len)
{
	kunit_err(test, "%.*s:%u: expectation failed: %.*s\n", (int)file_len, file, line,
		  (int)what_len, what);
	kunit_set_failure(test);
}

/* Used only with ZS_INJECT=warning: shows that a splat on the console fails the run. */
void rzs_provoke_warning(void)
{
	WARN(1, "rust_zsmalloc: warning provoked on purpose (ZS_INJECT=warning)\n");
}

/* kthread_run() is a macro. */
bool rzs_kthread_run(int (*fn)(void *), void *data, const char *name)
{
	return !IS_ERR(kthread_run(fn, data, "%s", name));
}

/*
 * The cross-CPU race cases: a kthread bound to @cpu (kthread_create + kthread_bind, then
 * woken). False if @cpu is not online or the thread cannot be made.
 */
bool rzs_kthread_run_on(int (*fn)(void *), void *data, const char *name, unsigned int cpu)
{
	struct task_struct *task;

	if (cpu >= nr_cpu_ids || !cpu_online(cpu))
		return false;
	task = kthread_create(fn, data, "%s/%u", name, cpu);
	if (IS_ERR(task))
		return false;
	kthread_bind(task, cpu);
	wake_up_process(task);
	return true;
}
