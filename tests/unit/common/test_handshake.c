/* hs_read_line: the handshake line from a pipe, within a deadline. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "handshake.h"

static void test_line(void **state)
{
	int fds[2];
	char line[64];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "1|1|unix|/x|grpc\n", 17), 17);
	assert_int_equal(hs_read_line(fds[0], 1000, line, sizeof(line)), 0);
	assert_string_equal(line, "1|1|unix|/x|grpc\n");
	close(fds[0]);
	close(fds[1]);
}

/* A peer that writes nothing and keeps the pipe open: -ETIMEDOUT at the
 * deadline. The poll that timed out fell through to a blocking read, so
 * the spawner waited for ever (found by the allocation-fault sweep: an
 * executor stuck in nng's start-up). */
static void test_silent_peer_times_out(void **state)
{
	int fds[2];
	char line[64];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	alarm(10); /* the old code: SIGALRM ends the test rather than hanging it */
	assert_int_equal(hs_read_line(fds[0], 200, line, sizeof(line)), -ETIMEDOUT);
	/* a partial line, then silence */
	assert_int_equal(write(fds[1], "1|1|un", 6), 6);
	assert_int_equal(hs_read_line(fds[0], 200, line, sizeof(line)), -ETIMEDOUT);
	alarm(0);
	close(fds[0]);
	close(fds[1]);
}

static void test_eof_first(void **state)
{
	int fds[2];
	char line[64];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	close(fds[1]);
	assert_int_equal(hs_read_line(fds[0], 1000, line, sizeof(line)), -EPIPE);
	close(fds[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_silent_peer_times_out),
		cmocka_unit_test(test_eof_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
