/* jsonutil: helpers for parsers and writers of cJSON trees. */
#include "jsonutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const char *json_kind(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsNumber(v))
		return "number";
	if (cJSON_IsBool(v))
		return "bool";
	if (cJSON_IsArray(v))
		return "array";
	if (cJSON_IsObject(v))
		return "object";
	if (cJSON_IsNull(v))
		return "null";
	return "invalid value";
}

bool json_key_repeated(const cJSON *obj, const cJSON *item)
{
	for (const cJSON *p = obj->child; p && p != item; p = p->next)
		if (strcmp(p->string, item->string) == 0)
			return true;
	return false;
}

cJSON *json_add_int64(cJSON *obj, const char *key, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	return cJSON_AddRawToObject(obj, key, num);
}

cJSON *json_add_string_or_null(cJSON *obj, const char *key, const char *s)
{
	return s != NULL ? cJSON_AddStringToObject(obj, key, s) : cJSON_AddNullToObject(obj, key);
}
