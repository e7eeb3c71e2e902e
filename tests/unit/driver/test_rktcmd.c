/* Running rkt commands: through pipes, and into files that outlive the
 * caller (how rkt prepare's UUID survives a driver killed mid-start). /bin/sh
 * stands in for rkt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	};
	return cmocka_run_group_tests_name("rktcmd", tests, NULL, NULL);
}
