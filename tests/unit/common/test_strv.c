/* strv: the NULL-terminated string vector. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "strv.h"

static void test_empty(void **state)
{
	(void)state;
	strv sv = {0};
	assert_null(sv.v);
	assert_non_null(strv_argv(&sv));
	assert_null(strv_argv(&sv)[0]);
	char *j = strv_join(&sv, ",");
	assert_string_equal(j, "");
	free(j);
	assert_null(strv_steal(&sv));
	strv_free(&sv);
}

static void test_build(void **state)
{
	(void)state;
	strv sv = {0}, more = {0};
	assert_int_equal(strv_append(&sv, "b"), 0);
	assert_int_equal(strv_appendf(&sv, "%s=%d", "c", 3), 0);
	assert_int_equal(strv_append_owned(&sv, strdup("d")), 0);
	assert_int_equal(strv_prepend(&sv, "a"), 0);
	for (int i = 0; i < 20; i++) /* past the first allocation */
		assert_int_equal(strv_appendf(&more, "x%d", i), 0);
	assert_int_equal(strv_extend(&sv, &more), 0);
	assert_int_equal(sv.n, 24);
	assert_null(sv.v[sv.n]);
	assert_string_equal(sv.v[0], "a");
	assert_string_equal(sv.v[2], "c=3");
	assert_string_equal(sv.v[23], "x19");
	strv_free(&more);
	assert_int_equal(more.n, 0);

	strv three = {0};
	strv_append(&three, "a");
	strv_append(&three, "");
	strv_append(&three, "c");
	char *j = strv_join(&three, ", ");
	assert_string_equal(j, "a, , c");
	free(j);
	char **v = strv_steal(&three);
	assert_int_equal(three.n, 0);
	assert_null(three.v);
	assert_string_equal(v[2], "c");
	assert_null(v[3]);
	for (int i = 0; v[i]; i++)
		free(v[i]);
	free(v);
	strv_free(&sv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_build),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
