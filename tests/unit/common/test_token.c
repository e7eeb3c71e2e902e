/* token: fresh random hex tokens and their constant-time comparison. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "token.h"

static void test_generate(void **state)
{
	char a[TOKEN_HEX_LEN + 1], b[TOKEN_HEX_LEN + 1];

	(void)state;
	memset(a, 'X', sizeof(a));
	assert_int_equal(token_generate(a), 0);
	assert_int_equal(strlen(a), TOKEN_HEX_LEN);
	assert_int_equal(strspn(a, "0123456789abcdef"), TOKEN_HEX_LEN);
	assert_int_equal(token_generate(b), 0);
	assert_string_not_equal(a, b);
	assert_true(token_equal(a, a));
	assert_false(token_equal(a, b));
}

static void test_equal(void **state)
{
	static const char t[] = "0123456789abcdef";

	(void)state;
	assert_true(token_equal(t, "0123456789abcdef"));
	assert_false(token_equal(t, "0123456789abcdee")); /* last byte */
	assert_false(token_equal(t, "1123456789abcdef")); /* first byte */
	assert_false(token_equal(t, "0123456789abcde"));  /* a prefix */
	assert_false(token_equal(t, "0123456789abcdef0")); /* longer */
	assert_false(token_equal(t, "0123456789abcdef0123456789abcdef")); /* repeated */
	assert_false(token_equal(t, ""));
	assert_false(token_equal(t, NULL));
	assert_false(token_equal("", "a"));
	assert_false(token_equal(NULL, "a"));
	assert_true(token_equal("", ""));
	assert_true(token_equal(NULL, ""));
	assert_true(token_equal("", NULL));
	assert_true(token_equal(NULL, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
