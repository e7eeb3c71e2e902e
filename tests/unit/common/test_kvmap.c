/* kvmap: the sorted string map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kvmap.h"

static void test_kvmap(void **state)
{
	(void)state;
	kvmap kv = {0};
	const char *keys[] = {"m", "b", "z", "a", "b", "NOMAD", "_x"};
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(kvmap_set(&kv, keys[i], keys[i]), 0);
	assert_int_equal(kvmap_set(&kv, "b", "second"), 0);
	assert_int_equal(kv.n, 6);
	const char *order[] = {"NOMAD", "_x", "a", "b", "m", "z"};
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(kv.v[i].key, order[i]);
	assert_string_equal(kvmap_get(&kv, "b"), "second");
	assert_null(kvmap_get(&kv, "c"));
	kvmap copy = {0};
	assert_int_equal(kvmap_copy(&copy, &kv), 0);
	assert_int_equal(copy.n, 6);
	kvmap_free(&copy);
	kvmap_free(&kv);
	assert_int_equal(kv.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvmap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
