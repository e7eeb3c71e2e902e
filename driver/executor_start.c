#include "executor_start.h"
#include "errf.h"
#include "procfs.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_CALL_TIMEOUT_MS 5000
#define GONE_WAIT_MS 1000

static void *spawn_main(void *arg)
{
	rd_spawn *s = arg;

	s->rc = ec_spawn(&s->opts, &s->ec, &s->rec, s->err, sizeof(s->err));
	return NULL;
}

static void spawn_free(rd_spawn *s)
{
	free(s->executor);
	free(s->task_dir);
	s->executor = s->task_dir = NULL;
}

int rd_spawn_begin(rd_spawn *s, const char *executor, const char *task_dir, int64_t idle_timeout_ms,
	int64_t launch_timeout_ms)
{
	sigset_t all, old;

	memset(s, 0, sizeof(*s));
	s->executor = strdup(executor);
	s->task_dir = strdup(task_dir);
	if (s->executor == NULL || s->task_dir == NULL) {
		spawn_free(s);
		return -1;
	}
	s->opts.executor_path = s->executor;
	s->opts.task_dir = s->task_dir;
	s->opts.idle_timeout_ms = idle_timeout_ms;
	s->opts.launch_timeout_ms = launch_timeout_ms;
	/* the thread takes no signals: a Ctrl-C reaches the caller's thread,
	 * which the caller's handlers expect, and so do the nng threads the
	 * spawn may create */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	s->threaded = pthread_create(&s->thread, NULL, spawn_main, s) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!s->threaded)
		spawn_main(s); /* no thread to be had: start it here, without the overlap */
	return 0;
}

static void join(rd_spawn *s)
{
	if (s->threaded)
		pthread_join(s->thread, NULL);
	s->threaded = false;
}

int rd_spawn_end(rd_spawn *s, ec_client **ec, ra_config *rec, char **err)
{
	join(s);
	spawn_free(s);
	if (s->rc != 0) {
		rd_errf(err, "cannot start the executor: %s", s->err);
		return -1;
	}
	*ec = s->ec;
	*rec = s->rec;
	s->ec = NULL;
	memset(&s->rec, 0, sizeof(s->rec));
	return 0;
}

void rd_spawn_discard(rd_spawn *s)
{
	join(s);
	spawn_free(s);
	if (s->rc != 0)
		return;
	Executor__ExitRequest xr = EXECUTOR__EXIT_REQUEST__INIT;
	Executor__ExitReply *xrep = NULL;
	rpc_error e;
	ec_exit(s->ec, &xr, &xrep, EXIT_CALL_TIMEOUT_MS, &e);
	ec_free(xrep);
	ec_close(s->ec);
	s->ec = NULL;
	/* gone before the caller removes the dir it works in */
	proc_await_exit(s->rec.pid, s->rec.pid_start_time, GONE_WAIT_MS);
	ra_config_free(&s->rec);
}
