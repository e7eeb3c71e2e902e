/* fuzz_rkt_status: `rkt status --format=json` output (driver/network.c,
 * rd_pod_status_parse), what network discovery and `rkt-driver status`
 * read, and the seed's choice of the driver IP from it
 * (rd_pod_status_driver_ip).
 *
 * Properties: any text is parsed or refused with one sentence; every IP
 * address given is in Go's net.IP.String() form, which parses again to
 * itself; the driver IP, when there is one, is the first network's (the
 * seed's choice) and some network's address is global unicast. */
#include <arpa/inet.h>

#include "fuzz.h"
#include "network.h"

/* An address as the parser printed it reads back to the same text. */
static void check_canonical(const char *ip)
{
	unsigned char buf[16];
	char json[160], *err = NULL;
	rd_pod_status again;

	FUZZ_CHECK(ip[0] != '\0' && strlen(ip) < 64);
	FUZZ_CHECK(inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1);
	snprintf(json, sizeof(json), "{\"networks\":[{\"ip\":\"%s\"}]}", ip);
	FUZZ_CHECK(rd_pod_status_parse(json, &again, &err) == 0);
	FUZZ_CHECK(again.n_networks == 1 && fuzz_str_eq(again.networks[0].ip, ip));
	rd_pod_status_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size), *err = NULL, *ip = NULL;
	rd_pod_status st;
	bool global = false;

	if (rd_pod_status_parse(text, &st, &err) != 0) {
		FUZZ_CHECK(err != NULL && err[0] != '\0');
		free(err);
		free(text);
		return 0;
	}
	FUZZ_CHECK(err == NULL);
	for (size_t i = 0; i < st.n_networks; i++) {
		if (st.networks[i].ip != NULL) {
			check_canonical(st.networks[i].ip);
			global = global || rd_ip_is_global_unicast(st.networks[i].ip);
		}
		if (st.networks[i].mask != NULL)
			check_canonical(st.networks[i].mask);
	}
	(void)rd_pod_status_finished(&st);
	if (rd_pod_status_driver_ip(&st, &ip, &err) == 0) {
		FUZZ_CHECK(global && ip != NULL);
		FUZZ_CHECK(strcmp(ip, st.networks[0].ip ? st.networks[0].ip : "<nil>") == 0);
		free(ip);
	} else {
		FUZZ_CHECK(!global && ip == NULL && err != NULL);
		free(err);
	}
	rd_pod_status_free(&st);
	free(text);
	return 0;
}
