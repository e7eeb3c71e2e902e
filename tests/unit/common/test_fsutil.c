/* fsutil: atomic durable writes, bounded whole-file reads, mkdir -p. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	const char *base = getenv("TMPDIR");
	char *dir;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	if (asprintf(&dir, "%s/rktd-fsutil-XXXXXX", base) < 0 || mkdtemp(dir) == NULL)
		return -1;
	umask(022);
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	char *dir = *state;
	int rc = nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);

	free(dir);
	return rc;
}

static char *join(const char *dir, const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static size_t count_entries(const char *dir)
{
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void test_write_read(void **state)
{
	const char *dir = *state;
	char *f = join(dir, "record.json"), *buf;
	size_t len;
	struct stat st;

	assert_int_equal(fs_write_atomic(f, "hello", 5, 0640), 0);
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(fs_read_all(f, 1024, &buf, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(buf, "hello");
	free(buf);

	/* replace: new content, no temp file left beside it */
	assert_int_equal(fs_write_atomic(f, "bye", 3, 0640), 0);
	assert_int_equal(fs_read_all(f, 1024, &buf, NULL), 0);
	assert_string_equal(buf, "bye");
	free(buf);
	assert_int_equal(count_entries(dir), 1);

	/* empty */
	assert_int_equal(fs_write_atomic(f, "", 0, 0600), 0);
	assert_int_equal(fs_read_all(f, 1024, &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
	free(f);
}

static void test_write_missing_dir(void **state)
{
	const char *dir = *state;
	char *f = join(dir, "no/such/dir/file");

	assert_int_equal(fs_write_atomic(f, "x", 1, 0600), -ENOENT);
	free(f);
}

static void test_read_limits(void **state)
{
	const char *dir = *state;
	char *f = join(dir, "big"), *buf, *data;
	const size_t n = 10000;
	size_t len;

	data = malloc(n);
	assert_non_null(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	assert_int_equal(fs_write_atomic(f, data, n, 0600), 0);
	assert_int_equal(fs_read_all(f, n, &buf, &len), 0);
	assert_int_equal(len, n);
	assert_memory_equal(buf, data, n);
	assert_int_equal(buf[n], '\0');
	free(buf);
	assert_int_equal(fs_read_all(f, n - 1, &buf, &len), -EFBIG);
	assert_int_equal(fs_read_all(f, 4, &buf, &len), -EFBIG);
	assert_int_equal(fs_read_all(f, 1u << 20, &buf, &len), 0);
	assert_int_equal(len, n);
	free(buf);
	/* "no limit": max + 1 once overflowed and refused any file over 4 KiB */
	assert_int_equal(fs_read_all(f, SIZE_MAX, &buf, &len), 0);
	assert_int_equal(len, n);
	free(buf);
	free(data);
	free(f);

	f = join(dir, "missing");
	assert_int_equal(fs_read_all(f, 1024, &buf, &len), -ENOENT);
	free(f);
	assert_int_equal(fs_read_all(dir, 1024, &buf, &len), -EISDIR);
}

static void test_mkdir_p(void **state)
{
	const char *dir = *state;
	char *d = join(dir, "a/b/c"), *file = join(dir, "plain"), *under = join(dir, "plain/x/y");
	char *trailing = join(dir, "t/u/");
	struct stat st;

	assert_int_equal(fs_mkdir_p(d, 0700), 0);
	assert_int_equal(stat(d, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(fs_mkdir_p(d, 0700), 0); /* exists: fine */
	assert_int_equal(fs_mkdir_p(trailing, 0755), 0);
	assert_int_equal(stat(trailing, &st), 0);

	assert_int_equal(fs_write_atomic(file, "x", 1, 0600), 0);
	assert_int_equal(fs_mkdir_p(file, 0700), -ENOTDIR);
	assert_int_equal(fs_mkdir_p(under, 0700), -ENOTDIR);
	assert_true(fs_mkdir_p("", 0700) < 0);
	free(d);
	free(file);
	free(under);
	free(trailing);
}

static void test_write_full(void **state)
{
	char out[300000], *in = malloc(sizeof(out));
	int p[2];
	size_t got = 0;
	pid_t pid;

	(void)state;
	assert_non_null(in);
	for (size_t i = 0; i < sizeof(out); i++)
		in[i] = (char)i;
	assert_int_equal(pipe(p), 0);
	/* bigger than a pipe buffer: a reader drains it while we write */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		while (got < sizeof(out)) {
			ssize_t n = read(p[0], out + got, sizeof(out) - got);
			if (n <= 0)
				_exit(1);
			got += (size_t)n;
		}
		_exit(memcmp(out, in, sizeof(out)) == 0 ? 0 : 2);
	}
	close(p[0]);
	assert_int_equal(fs_write_full(p[1], in, sizeof(out)), 0);
	close(p[1]);
	{
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(fs_write_full(-1, "x", 1), -EBADF);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_missing_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mkdir_p, setup, teardown),
		cmocka_unit_test(test_write_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
