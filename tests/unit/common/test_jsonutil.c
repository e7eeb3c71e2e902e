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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind),
		cmocka_unit_test(test_repeated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
