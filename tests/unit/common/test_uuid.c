/* uuid: random version 4 UUIDs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "uuid.h"

static void test_uuid4(void **state)
{
	(void)state;
	char id[37], id2[37];
	assert_int_equal(uuid4(id), 0);
	assert_int_equal(uuid4(id2), 0);
	assert_int_equal(strlen(id), 36);
	assert_string_not_equal(id, id2);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(id[i], '-');
		else
			assert_non_null(strchr("0123456789abcdef", id[i]));
	}
	assert_int_equal(id[14], '4');
	assert_non_null(strchr("89ab", id[19]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid4),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
