/* jsonutil: JSON kinds and repeated keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonutil.h"

static void test_kind(void **state)
{
	(void)state;
	cJSON *o = cJSON_Parse("{\"s\":\"x\",\"n\":1,\"b\":true,\"a\":[],\"o\":{},\"z\":null}");
	const char *want[] = {"string", "number", "bool", "array", "object", "null"};
	size_t i = 0;
	assert_non_null(o);
	for (const cJSON *f = o->child; f; f = f->next, i++)
		assert_string_equal(json_kind(f), want[i]);
	assert_int_equal(i, 6);
	cJSON_Delete(o);
}

static void test_repeated(void **state)
{
	(void)state;
	cJSON *o = cJSON_Parse("{\"a\":1,\"b\":2,\"a\":3}");
	assert_non_null(o);
	const cJSON *a1 = o->child, *b = a1->next, *a2 = b->next;
	assert_false(json_key_repeated(o, a1));
	assert_false(json_key_repeated(o, b));
	assert_true(json_key_repeated(o, a2));
	cJSON_Delete(o);
}

static void test_writers(void **state)
{
	(void)state;
	cJSON *o = cJSON_CreateObject();
	assert_non_null(json_add_int64(o, "ns", 1712345678901234567LL));
	assert_non_null(json_add_int64(o, "min", INT64_MIN));
	assert_non_null(json_add_string_or_null(o, "s", "x\"y"));
	assert_non_null(json_add_string_or_null(o, "z", NULL));
	char *text = cJSON_PrintUnformatted(o);
	assert_string_equal(text, "{\"ns\":1712345678901234567,\"min\":-9223372036854775808,\"s\":\"x\\\"y\","
		"\"z\":null}");
	cJSON *back = cJSON_Parse(text);
	assert_non_null(back);
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(back, "ns")));
	cJSON_Delete(back);
	free(text);
	cJSON_Delete(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind),
		cmocka_unit_test(test_repeated),
		cmocka_unit_test(test_writers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
