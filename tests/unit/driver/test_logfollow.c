/* Reading rotating log files in a dir the task can write: a planted link
 * must never show a host file to the reader (rkt-driver logs runs as root). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "logfollow.h"

static char root[64];

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* Everything one pump of dir/base shows. */
static char *pump_all(const char *dir, const char *base)
{
	static char out[4096];
	char tmpl[] = "/tmp/rktd-lf-out.XXXXXX";
	int fd = mkstemp(tmpl);
	rd_follow f;
	ssize_t n;

	assert_true(fd >= 0);
	unlink(tmpl);
	rd_follow_init(&f, dir, base);
	assert_true(rd_follow_pump(&f, fd) >= 0);
	n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	return out;
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/rktd-lf.XXXXXX");
	assert_non_null(mkdtemp(root));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_reads_in_order(void **state)
{
	(void)state;
	put("web.stdout.3", "three\n");
	put("web.stdout.4", "four\n");
	assert_string_equal(pump_all(root, "web.stdout"), "three\nfour\n");
}

static void test_skips_planted_links(void **state)
{
	char path[256], target[256];

	(void)state;
	put("secret", "root's secret\n");
	put("web.stdout.0", "zero\n");
	snprintf(target, sizeof(target), "%s/secret", root);
	snprintf(path, sizeof(path), "%s/web.stdout.1", root);
	assert_int_equal(symlink(target, path), 0);
	snprintf(path, sizeof(path), "%s/web.stdout.2", root);
	assert_int_equal(link(target, path), 0);
	put("web.stdout.3", "three\n");
	assert_string_equal(pump_all(root, "web.stdout"), "zero\nthree\n");
}

static void test_refuses_symlinked_dir(void **state)
{
	char dir[256], link_path[256];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/real", root);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(link_path, sizeof(link_path), "%s/real/web.stdout.0", root);
	FILE *f = fopen(link_path, "w");
	assert_non_null(f);
	fputs("host file\n", f);
	fclose(f);
	snprintf(link_path, sizeof(link_path), "%s/logs", root);
	assert_int_equal(symlink(dir, link_path), 0);
	assert_string_equal(pump_all(link_path, "web.stdout"), "");
}

static void test_ignores_odd_indices(void **state)
{
	(void)state;
	put("web.stdout.01", "leading zero\n");
	put("web.stdout.-1", "negative\n");
	put("web.stdout.99999999999999999999", "huge\n");
	put("web.stdout.5", "five\n");
	assert_string_equal(pump_all(root, "web.stdout"), "five\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reads_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skips_planted_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_symlinked_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ignores_odd_indices, setup, teardown),
	};
	return cmocka_run_group_tests_name("logfollow", tests, NULL, NULL);
}
