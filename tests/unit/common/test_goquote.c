/* goquote: Go's %q and %+q, and %+q of a string list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "goquote.h"
#include "strv.h"

static void test_quote(void **state)
{
	(void)state;
	static const struct {
		const char *in, *q, *ascii;
	} cases[] = {
		{"plain", "\"plain\"", "\"plain\""},
		{"", "\"\"", "\"\""},
		{"a\"b\\c", "\"a\\\"b\\\\c\"", "\"a\\\"b\\\\c\""},
		{"\a\b\f\n\r\t\v", "\"\\a\\b\\f\\n\\r\\t\\v\"", "\"\\a\\b\\f\\n\\r\\t\\v\""},
		{"\x01\x7f", "\"\\x01\\x7f\"", "\"\\x01\\x7f\""},
		{"caf\xc3\xa9", "\"caf\xc3\xa9\"", "\"caf\\u00e9\""},
		{"\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"", "\"\\U0001f600\""},
		{"\xff" "a", "\"\\xffa\"", "\"\\xffa\""},
		{"\xc2\xa0", "\"\\u00a0\"", "\"\\u00a0\""},
		{"\xc2\x85", "\"\\u0085\"", "\"\\u0085\""},
		{"\xed\xa0\x80", "\"\\xed\\xa0\\x80\"", "\"\\xed\\xa0\\x80\""},
		{"\xc0\xaf", "\"\\xc0\\xaf\"", "\"\\xc0\\xaf\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *q = go_quote(cases[i].in, false), *a = go_quote(cases[i].in, true);
		assert_string_equal(q, cases[i].q);
		assert_string_equal(a, cases[i].ascii);
		free(q);
		free(a);
	}
	strv sv = {0};
	char *l = go_quote_list_ascii(&sv);
	assert_string_equal(l, "[]");
	free(l);
	strv_append(&sv, "a");
	strv_append(&sv, "b c");
	l = go_quote_list_ascii(&sv);
	assert_string_equal(l, "[\"a\" \"b c\"]");
	free(l);
	strv_free(&sv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
