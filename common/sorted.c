/* sorted: binary search by a leading char * key. */
#include "sorted.h"

#include <string.h>

size_t sorted_find(const void *base, size_t n, size_t size, const char *key, bool *found)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *k = *(char *const *)(const void *)((const char *)base + mid * size);
		int c = strcmp(k, key);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}
