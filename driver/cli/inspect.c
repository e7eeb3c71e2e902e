/* rkt-driver inspect and stats: what a task's executor reports. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli.h"

static void fmt_time(int64_t unix_ns, char *buf, size_t len)
{
	time_t t = (time_t)(unix_ns / 1000000000);
	struct tm tm;

	if (unix_ns == 0) {
		snprintf(buf, len, "-");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cmd_inspect(struct cli *c, int argc, char **argv)
{
	bool json = false;
	struct flag flags[] = {{"--json", &json}, {NULL, NULL}};
	const char *given;
	int rc = one_id(argc, argv, "usage: rkt-driver inspect [--json] ID\n\nAsks the task's executor "
		"for everything it knows: versions, pids, state,\ntimes, exit record, log files, RPC counters.\n",
		&given, flags);
	Executor__InspectReply *r = NULL;
	char *err = NULL, t1[64], t2[64];

	if (rc >= 0)
		return rc;
	rd_handle *h = open_task(c, given, NULL, &rc);
	if (h == NULL)
		return rc;
	if (rd_inspect(h, &r, &err) != 0) {
		rc = fail_free(EXIT_FAIL, err);
		rd_handle_free(h);
		return rc;
	}
	if (json) {
		cJSON *o = cJSON_CreateObject(), *a;
		cJSON_AddStringToObject(o, "version", r->version);
		cJSON_AddNumberToObject(o, "protocol", r->protocol);
		cJSON_AddNumberToObject(o, "executor_pid", r->executor_pid);
		cJSON_AddNumberToObject(o, "uptime_ms", (double)r->uptime_ms);
		cJSON_AddStringToObject(o, "state", r->state);
		cJSON_AddNumberToObject(o, "child_pid", r->child_pid);
		cJSON_AddStringToObject(o, "cmd", r->cmd);
		a = cJSON_AddArrayToObject(o, "args");
		for (size_t n = 0; n < r->n_args; n++)
			cJSON_AddItemToArray(a, cJSON_CreateString(r->args[n]));
		cJSON_AddStringToObject(o, "pod", rd_handle_uuid(h));
		cJSON_AddBoolToObject(o, "exited", r->exit->exited);
		cJSON_AddNumberToObject(o, "exit_code", r->exit->exit_code);
		cJSON_AddNumberToObject(o, "signal", r->exit->signal);
		cJSON_AddNumberToObject(o, "started_unix_ns", (double)r->exit->started_unix_ns);
		cJSON_AddNumberToObject(o, "finished_unix_ns", (double)r->exit->finished_unix_ns);
		cJSON_AddStringToObject(o, "exit_record", r->exit_record);
		a = cJSON_AddArrayToObject(o, "log_files");
		for (size_t n = 0; n < r->n_log_files; n++)
			cJSON_AddItemToArray(a, cJSON_CreateString(r->log_files[n]));
		cJSON_AddNumberToObject(o, "rpc_calls", (double)r->rpc->calls);
		cJSON_AddNumberToObject(o, "rpc_errors", (double)r->rpc->errors);
		cJSON_AddNumberToObject(o, "rpc_rejected", (double)r->rpc->rejected);
		cJSON_AddNumberToObject(o, "pending_waits", (double)r->rpc->pending_waits);
		cJSON_AddNumberToObject(o, "kill_timeout_ms", (double)r->kill_timeout_ms);
		cJSON_AddStringToObject(o, "task_dir", r->task_dir);
		cJSON_AddStringToObject(o, "socket", r->socket);
		cJSON_AddNumberToObject(o, "executor_rss_bytes", (double)r->executor_rss_bytes);
		char *s = cJSON_Print(o);
		puts(s);
		free(s);
		cJSON_Delete(o);
	} else {
		fmt_time(r->executor_started_unix_ns, t1, sizeof(t1));
		printf("executor:      rkt-executor %s (protocol %u), pid %d, up %lld ms since %s\n",
			r->version, r->protocol, r->executor_pid, (long long)r->uptime_ms, t1);
		printf("executor rss:  %llu KiB\n", (unsigned long long)r->executor_rss_bytes >> 10);
		printf("socket:        %s\n", r->socket);
		printf("pod:           %s\n", rd_handle_uuid(h));
		printf("state:         %s\n", r->state);
		printf("process:       pid %d: %s", r->child_pid, r->cmd);
		for (size_t n = 0; n < r->n_args; n++)
			printf(" %s", r->args[n]);
		printf("\n");
		fmt_time(r->exit->started_unix_ns, t1, sizeof(t1));
		fmt_time(r->exit->finished_unix_ns, t2, sizeof(t2));
		printf("started:       %s\n", t1);
		if (r->exit->exited) {
			printf("finished:      %s\n", t2);
			printf("exit:          code %d, signal %d%s\n", r->exit->exit_code, r->exit->signal,
				r->exit_record[0] ? "" : " (exit record not yet on disk)");
			printf("exit record:   %s\n", r->exit_record);
		}
		printf("kill timeout:  %lld ms\n", (long long)r->kill_timeout_ms);
		printf("log files:\n");
		for (size_t n = 0; n < r->n_log_files; n++)
			printf("  %s\n", r->log_files[n]);
		printf("rpc:           %llu calls, %llu errors, %llu rejected, %llu waits pending\n",
			(unsigned long long)r->rpc->calls, (unsigned long long)r->rpc->errors,
			(unsigned long long)r->rpc->rejected, (unsigned long long)r->rpc->pending_waits);
	}
	ec_free(r);
	rd_handle_free(h);
	return 0;
}

int cmd_stats(struct cli *c, int argc, char **argv)
{
	const char *given;
	int rc = one_id(argc, argv, "usage: rkt-driver stats ID\n\nCPU and memory of every process of "
		"the task, from /proc (and its cgroup).\n", &given, NULL);
	Executor__StatsReply *s = NULL;
	char *err = NULL;

	if (rc >= 0)
		return rc;
	rd_handle *h = open_task(c, given, NULL, &rc);
	if (h == NULL)
		return rc;
	if (rd_stats(h, &s, &err) != 0) {
		rc = fail_free(EXIT_FAIL, err);
	} else {
		printf("%-8s %-8s %-16s %8s %10s %12s\n", "PID", "PPID", "COMMAND", "CPU%", "TICKS", "RSS(KiB)");
		for (size_t n = 0; n < s->n_processes; n++) {
			Executor__ProcessStats *p = s->processes[n];
			printf("%-8d %-8d %-16s %8.1f %10llu %12llu\n", p->pid, p->ppid, p->comm, p->cpu_percent,
				(unsigned long long)(p->utime_ticks + p->stime_ticks),
				(unsigned long long)p->rss_bytes >> 10);
		}
		printf("total: %.1f%% CPU, %llu KiB RSS", s->total_cpu_percent,
			(unsigned long long)s->total_rss_bytes >> 10);
		if (s->cgroup[0])
			printf(", cgroup %s: %llu KiB, %llu us CPU", s->cgroup,
				(unsigned long long)s->cgroup_memory_bytes >> 10,
				(unsigned long long)s->cgroup_cpu_usec);
		printf("\n");
		ec_free(s);
		rc = 0;
	}
	rd_handle_free(h);
	return rc;
}
