/* Running rkt commands: through pipes, and into files that outlive the
 * caller (how rkt prepare's UUID survives a driver killed mid-start). /bin/sh
 * stands in for rkt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"
#include "rktcmd.h"

static char root[64], out_path[128], err_path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/rktd-cmd.XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(out_path, sizeof(out_path), "%s/out", root);
	snprintf(err_path, sizeof(err_path), "%s/err", root);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fs_remove_tree(root);
	return 0;
}

static void sh(strv *args, const char *script)
{
	strv_append(args, "-c");
	strv_append(args, script);
}

static void test_pipes(void **state)
{
	strv args = {0};
	rd_cmd_result res;

	(void)state;
	sh(&args, "echo out; echo err >&2; exit 3");
	assert_int_equal(rd_cmd_run("/bin/sh", &args, NULL, NULL, 5000, &res), 0);
	assert_int_equal(res.status, 3);
	assert_string_equal(res.out, "out\n");
	assert_string_equal(res.err, "err\n");
	rd_cmd_result_free(&res);
	strv_free(&args);
}

static void test_files(void **state)
{
	strv args = {0};
	rd_cmd_result res;
	rd_cmd c;

	(void)state;
	sh(&args, "echo 1234-uuid; echo warn >&2; exit 0");
	assert_int_equal(rd_cmd_start_to_files("/bin/sh", &args, out_path, err_path, &c, &res), 0);
	assert_int_equal(rd_cmd_finish(&c, 5000, &res), 0);
	assert_int_equal(res.status, 0);
	assert_string_equal(res.out, "1234-uuid\n");
	assert_string_equal(res.err, "warn\n");
	rd_cmd_result_free(&res);
	strv_free(&args);
}

static void test_files_timeout(void **state)
{
	strv args = {0};
	rd_cmd_result res;
	rd_cmd c;

	(void)state;
	sh(&args, "exec sleep 30");
	assert_int_equal(rd_cmd_start_to_files("/bin/sh", &args, out_path, err_path, &c, &res), 0);
	assert_int_equal(rd_cmd_finish(&c, 200, &res), -1);
	assert_non_null(strstr(res.error, "did not finish within 200 ms"));
	rd_cmd_result_free(&res);
	strv_free(&args);
}

/* The timeout names the subcommand, not the global flags before it (rkt
 * prepare's argv begins with --insecure-options=all; the message once read
 * "rkt --insecure-options=all did not finish"): env -i stands in. */
static void test_timeout_names_subcommand(void **state)
{
	strv args = {0};
	rd_cmd_result res;

	(void)state;
	strv_append(&args, "-i");
	strv_append(&args, "sleep");
	strv_append(&args, "30");
	assert_int_equal(rd_cmd_run("/usr/bin/env", &args, NULL, NULL, 200, &res), -1);
	assert_non_null(res.error);
	assert_non_null(strstr(res.error, "/usr/bin/env sleep did not finish within 200 ms"));
	rd_cmd_result_free(&res);
	strv_free(&args);
}

static bool says_emfile(const rd_cmd_result *res)
{
	return res->error != NULL && strstr(res->error, "cannot run ") != NULL &&
		strstr(res->error, ": Too many open files") != NULL;
}

/* Out of descriptors (EMFILE): the sentence says so (it once said "Invalid
 * argument", errno being overwritten before it was read). In a child, whose
 * fd limit is cut to 3. */
static void test_emfile_says_so(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit low;
		strv args = {0};
		rd_cmd_result res;
		rd_cmd c;
		int ok;
		getrlimit(RLIMIT_NOFILE, &low);
		low.rlim_cur = 3;
		if (setrlimit(RLIMIT_NOFILE, &low) != 0)
			_exit(2);
		sh(&args, "exit 0");
		ok = rd_cmd_run("/bin/sh", &args, NULL, NULL, 1000, &res) == -1 && says_emfile(&res);
		if (!ok)
			fprintf(stderr, "# pipes: %s\n", res.error ? res.error : "(no error)");
		rd_cmd_result_free(&res);
		ok = ok && rd_cmd_start_to_files("/bin/sh", &args, out_path, err_path, &c, &res) == -1 &&
			says_emfile(&res);
		if (!ok)
			fprintf(stderr, "# files: %s\n", res.error ? res.error : "(no error)");
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The caller dies while the command runs: the command still finishes and
 * what it printed is in the file (with a pipe it would die writing). */
static void test_files_outlive_caller(void **state)
{
	char *text = NULL;
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		strv args = {0};
		rd_cmd_result res;
		rd_cmd c;
		sh(&args, "sleep 0.3; echo 5678-uuid");
		_exit(rd_cmd_start_to_files("/bin/sh", &args, out_path, err_path, &c, &res) == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	for (int i = 0; i < 100; i++) {
		free(text);
		text = NULL;
		if (fs_read_all(out_path, 4096, &text, NULL) == 0 && strcmp(text, "5678-uuid\n") == 0)
			break;
		usleep(50000);
	}
	assert_non_null(text);
	assert_string_equal(text, "5678-uuid\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pipes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_outlive_caller, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_names_subcommand, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emfile_says_so, setup, teardown),
	};
	return cmocka_run_group_tests_name("rktcmd", tests, NULL, NULL);
}
