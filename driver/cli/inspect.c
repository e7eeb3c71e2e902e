/* rkt-driver inspect and stats: what a task's executor reports. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "jsonutil.h"

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

/* inspect's view of an executor's Inspect reply, as text or JSON; pod is
 * the task's pod UUID. */
static void print_inspect(const char *pod, const Executor__InspectReply *r, bool json)
{
	char t1[64], t2[64];

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
		cJSON_AddStringToObject(o, "pod", pod);
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
		cJSON_AddStringToObject(o, "inspect_url", r->inspect_url);
		cJSON_AddBoolToObject(o, "inspect_client_certs", r->inspect_client_certs);
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
		printf("pod:           %s\n", pod);
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
		if (r->inspect_url[0] != '\0' && r->inspect_rpc != NULL)
			printf("inspection:    %s%s: %llu calls, %llu errors, %llu rejected\n", r->inspect_url,
				r->inspect_client_certs ? " (client certificates required)" : "",
				(unsigned long long)r->inspect_rpc->calls, (unsigned long long)r->inspect_rpc->errors,
				(unsigned long long)r->inspect_rpc->rejected);
	}
}

static const char inspect_help[] = "usage: rkt-driver inspect [--json] ID\n"
	"       rkt-driver inspect [--json] --remote ADDR --token-file F --ca F [--cert F --key F]\n\n"
	"Asks the task's executor for everything it knows: versions, pids, state,\ntimes, exit record, "
	"log files, RPC counters, its inspection listener.\n";

int cmd_inspect(struct cli *c, int argc, char **argv)
{
	bool json = false;
	struct flag flags[] = {{"--json", &json}, {NULL, NULL}};
	struct remote_opts ro;
	const char *given;
	Executor__InspectReply *r = NULL;
	char *err = NULL;
	int rc;

	if ((rc = remote_or_id(argc, argv, inspect_help, flags, &ro, &given)) >= 0)
		return rc;
	if (ro.addr != NULL) {
		Executor__InspectRequest ir = EXECUTOR__INSPECT_REQUEST__INIT;
		rpc_error e;
		ec_client *ec = remote_connect(&ro, &rc);
		if (ec == NULL)
			return rc;
		if (ec_inspect(ec, &ir, &r, REMOTE_CALL_MS, &e) != RPC__STATUS__OK) {
			rc = fail(EXIT_FAIL, "inspect of the executor at %s: %s", ro.addr, e.message);
		} else {
			print_inspect(remote_pod(r), r, json);
			rc = 0;
		}
		ec_free(r);
		ec_close(ec);
		return rc;
	}
	rd_handle *h = open_task(c, given, NULL, &rc);
	if (h == NULL)
		return rc;
	if (rd_inspect(h, &r, &err) != 0) {
		rc = fail_free(EXIT_FAIL, err);
		rd_handle_free(h);
		return rc;
	}
	print_inspect(rd_handle_uuid(h), r, json);
	ec_free(r);
	rd_handle_free(h);
	return 0;
}

/* stats as a table, and the total. */
static void print_stats(const Executor__StatsReply *s)
{
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
}

/* stats --json: the StatsReply's fields under their proto names (fields are
 * only ever added there), with the task's id and pod. */
static int print_stats_json(const char *id, const char *pod, const Executor__StatsReply *s)
{
	cJSON *o = cJSON_CreateObject(), *a;

	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "pod", pod);
	json_add_int64(o, "timestamp_unix_ns", s->timestamp_unix_ns);
	a = cJSON_AddArrayToObject(o, "processes");
	for (size_t n = 0; n < s->n_processes; n++) {
		const Executor__ProcessStats *p = s->processes[n];
		cJSON *e = cJSON_CreateObject();
		json_add_int64(e, "pid", p->pid);
		json_add_int64(e, "ppid", p->ppid);
		cJSON_AddStringToObject(e, "comm", p->comm);
		json_add_int64(e, "utime_ticks", (int64_t)p->utime_ticks);
		json_add_int64(e, "stime_ticks", (int64_t)p->stime_ticks);
		cJSON_AddNumberToObject(e, "cpu_percent", p->cpu_percent);
		json_add_int64(e, "rss_bytes", (int64_t)p->rss_bytes);
		cJSON_AddItemToArray(a, e);
	}
	json_add_int64(o, "total_rss_bytes", (int64_t)s->total_rss_bytes);
	json_add_int64(o, "total_ticks", (int64_t)s->total_ticks);
	cJSON_AddNumberToObject(o, "total_cpu_percent", s->total_cpu_percent);
	cJSON_AddStringToObject(o, "cgroup", s->cgroup);
	json_add_int64(o, "cgroup_memory_bytes", (int64_t)s->cgroup_memory_bytes);
	json_add_int64(o, "cgroup_cpu_usec", (int64_t)s->cgroup_cpu_usec);
	json_add_int64(o, "clock_ticks", s->clock_ticks);
	return print_json(o);
}

/* stats --remote: the task's id and pod from Inspect, as the local view
 * has them from the handle, then Stats. */
static int stats_remote(const struct remote_opts *ro, bool json)
{
	Executor__InspectRequest ir = EXECUTOR__INSPECT_REQUEST__INIT;
	Executor__StatsRequest sr = EXECUTOR__STATS_REQUEST__INIT;
	Executor__InspectReply *r = NULL;
	Executor__StatsReply *s = NULL;
	rpc_error e;
	int rc = 0;
	ec_client *ec = remote_connect(ro, &rc);

	if (ec == NULL)
		return rc;
	if (ec_inspect(ec, &ir, &r, REMOTE_CALL_MS, &e) != RPC__STATUS__OK ||
	    ec_stats(ec, &sr, &s, REMOTE_CALL_MS, &e) != RPC__STATUS__OK) {
		rc = fail(EXIT_FAIL, "stats of the executor at %s: %s", ro->addr, e.message);
	} else if (json) {
		rc = print_stats_json(remote_task_id(r), remote_pod(r), s);
	} else {
		print_stats(s);
	}
	ec_free(s);
	ec_free(r);
	ec_close(ec);
	return rc;
}

int cmd_stats(struct cli *c, int argc, char **argv)
{
	bool json = false;
	struct flag flags[] = {{"--json", &json}, {NULL, NULL}};
	const char *given;
	struct remote_opts ro;
	Executor__StatsReply *s = NULL;
	char *err = NULL, *id = NULL;
	int rc;

	if ((rc = remote_or_id(argc, argv, "usage: rkt-driver stats [--json] ID\n"
		"       rkt-driver stats [--json] --remote ADDR --token-file F --ca F [--cert F --key F]\n\n"
		"CPU and memory of every process of the task, from /proc (and its cgroup).\n"
		"  --json  the same as one JSON object\n", flags, &ro, &given)) >= 0)
		return rc;
	if (ro.addr != NULL)
		return stats_remote(&ro, json);
	rd_handle *h = open_task(c, given, &id, &rc);
	if (h == NULL)
		return rc;
	if (rd_stats(h, &s, &err) != 0) {
		rc = fail_free(EXIT_FAIL, err);
	} else if (json) {
		rc = print_stats_json(id, rd_handle_uuid(h), s);
		ec_free(s);
	} else {
		print_stats(s);
		ec_free(s);
		rc = 0;
	}
	rd_handle_free(h);
	free(id);
	return rc;
}
