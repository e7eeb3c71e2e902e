/* Unit tests of executor/logrotate.c: whole lines across rotations, limits,
 * and continuing an earlier executor's files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "logrotate.h"

#define LINE 80

static int rm_one(const char *p, const struct stat *st, int f, struct FTW *ftw)
{
	(void)st;
	(void)f;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	char *dir = strdup("/tmp/rktd-logrot-XXXXXX");
	if (dir == NULL || mkdtemp(dir) == NULL)
		return -1;
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	nftw(*state, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(*state);
	return 0;
}

/* Line i: "line %010d ", padded with letters to 79 bytes, and a newline. */
static void make_line(char *buf, int i)
{
	int n = snprintf(buf, LINE, "line %010d ", i);
	for (int k = n; k < LINE - 1; k++)
		buf[k] = (char)('a' + k % 26);
	buf[LINE - 1] = '\n';
}

/* Checks that every kept file holds whole, consecutive lines; returns the
 * number after the last line seen. */
static int check_files(const char *dir, const char *base, uint64_t max_size, unsigned max_files)
{
	char path[4300];
	int expect = -1;
	unsigned kept = 0;

	for (unsigned idx = 0; idx < 10000; idx++) {
		char *text;
		size_t len;
		snprintf(path, sizeof(path), "%s/%s.%u", dir, base, idx);
		if (fs_read_all(path, 1u << 24, &text, &len) != 0)
			continue;
		kept++;
		assert_true(len <= max_size);
		assert_int_equal(len % LINE, 0);
		for (size_t off = 0; off < len; off += LINE) {
			int num;
			assert_int_equal(text[off + LINE - 1], '\n');
			assert_int_equal(sscanf(text + off, "line %d ", &num), 1);
			if (expect >= 0)
				assert_int_equal(num, expect);
			expect = num + 1;
		}
		free(text);
	}
	assert_true(kept <= max_files);
	return expect;
}

/* The pipe is full before each pump, so every read fills the line buffer to
 * the byte, ending mid-line: that partial line must wait for its end and not
 * be split by a rotation. With files a multiple of the buffer long, a full
 * buffer once filled a file exactly, mid-line, and the line's end went to
 * the next file (seen when valgrind slowed the executor). */
static void full_reads(const char *dir, const char *base, uint64_t max_size)
{
	const int lines = 4000;
	int p[2], next = 0;
	logrot *l;
	char line[LINE];

	assert_int_equal(pipe(p), 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	assert_int_equal(logrot_open(&l, dir, base, 1000, max_size), 0);
	while (next < lines) {
		/* fill the pipe as far as it goes */
		while (next < lines) {
			make_line(line, next);
			if (write(p[1], line, LINE) != LINE)
				break;
			next++;
		}
		/* one read per fill: with the pipe full, every read fills the
		 * line buffer to the byte, ending mid-line */
		assert_true(logrot_pump(l, p[0]) > 0);
	}
	close(p[1]);
	while (logrot_pump(l, p[0]) > 0)
		;
	close(p[0]);
	logrot_close(l);
	assert_int_equal(check_files(dir, base, max_size, 1000), lines);
}

static void test_full_reads_keep_lines_whole(void **state)
{
	/* file sizes that are not multiples of the line length, so a file can
	 * end with too little room for the rest of a line */
	const uint64_t sizes[] = {4 * LOGROT_BUF, 10240, 10050, 9999, 16400, 4001};
	char base[32];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(base, sizeof(base), "s%zu.stdout", i);
		full_reads(*state, base, sizes[i]);
	}
}

static void test_continues_newest_file(void **state)
{
	const char *dir = *state;
	char path[4300], line[LINE];
	logrot *l;
	int p[2];

	/* an earlier executor left .3 and .4 */
	snprintf(path, sizeof(path), "%s/t.stderr.3", dir);
	make_line(line, 0);
	assert_int_equal(fs_write_atomic(path, line, LINE, 0600), 0);
	snprintf(path, sizeof(path), "%s/t.stderr.4", dir);
	make_line(line, 1);
	assert_int_equal(fs_write_atomic(path, line, LINE, 0600), 0);
	assert_int_equal(logrot_open(&l, dir, "t.stderr", 5, 1 << 20), 0);
	unsigned oldest, newest;
	logrot_range(l, &oldest, &newest);
	assert_int_equal(oldest, 3);
	assert_int_equal(newest, 4);
	assert_int_equal(pipe(p), 0);
	make_line(line, 2);
	assert_int_equal(write(p[1], line, LINE), LINE);
	close(p[1]);
	while (logrot_pump(l, p[0]) > 0)
		;
	close(p[0]);
	logrot_close(l);
	assert_int_equal(check_files(dir, "t.stderr", 1 << 20, 5), 3);
}

static void test_overlong_line_is_cut_not_lost(void **state)
{
	const char *dir = *state;
	size_t n = 3 * LOGROT_BUF + 7;
	char *big = malloc(n + 1), path[4300];
	size_t total = 0;
	logrot *l;
	int p[2];

	memset(big, 'x', n);
	big[n] = '\n';
	assert_int_equal(pipe(p), 0);
	assert_int_equal(logrot_open(&l, dir, "big", 100, 1 << 20), 0);
	if (fork() == 0) {
		close(p[0]);
		(void)!write(p[1], big, n + 1);
		_exit(0);
	}
	close(p[1]);
	while (logrot_pump(l, p[0]) > 0)
		;
	close(p[0]);
	logrot_close(l);
	snprintf(path, sizeof(path), "%s/big.0", dir);
	char *text;
	assert_int_equal(fs_read_all(path, 1 << 24, &text, &total), 0);
	assert_int_equal(total, n + 1);
	free(text);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_reads_keep_lines_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_continues_newest_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlong_line_is_cut_not_lost, setup, teardown),
	};
	return cmocka_run_group_tests_name("logrotate", tests, NULL, NULL);
}
