/* portmap: the sorted port label -> port map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portmap.h"

static void test_portmap(void **state)
{
	(void)state;
	rd_portmap pm = {0};
	assert_int_equal(rd_portmap_set(&pm, "http", 80), 0);
	assert_int_equal(rd_portmap_set(&pm, "db", 5432), 0);
	assert_int_equal(rd_portmap_set(&pm, "http", 8080), 0);
	assert_int_equal(pm.n, 2);
	assert_string_equal(pm.v[0].label, "db");
	assert_int_equal(rd_portmap_get(&pm, "http"), 8080);
	assert_int_equal(rd_portmap_get(&pm, "nope"), 0);
	rd_portmap_free(&pm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_portmap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
