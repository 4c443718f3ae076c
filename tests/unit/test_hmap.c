/* Unit test for lib/http/hmap.c: status mapping, error bodies, Accept negotiation. */
#include "http/hmap.c"

#include <stdio.h>

#include "check.h"

static int accept_of(const char *a, const char **ct)
{
	return fa_hmap_accept(a, a ? strlen(a) : 0, ct);
}

int main(void)
{
	const char *ct;
	struct fa_buf b;

	CHECK(fa_hmap_status("23505") == 409);
	CHECK(fa_hmap_status("23503") == 409);
	CHECK(fa_hmap_status("23514") == 422);
	CHECK(fa_hmap_status("23502") == 422);
	CHECK(fa_hmap_status("22P02") == 400);
	CHECK(fa_hmap_status("22003") == 400);
	CHECK(fa_hmap_status("57014") == 504);
	CHECK(fa_hmap_status("08006") == 503);
	CHECK(fa_hmap_status("42P01") == 500);
	CHECK(fa_hmap_status(NULL) == 500);
	CHECK(fa_hmap_status("bogus") == 500);

	fa_buf_init(&b, 0);
	fa_hmap_error_json(&b, 409, "23505", "duplicate \"key\"", NULL);
	CHECK(!strcmp(b.data, "{\"error\":{\"status\":409,\"sqlstate\":\"23505\","
		      "\"message\":\"duplicate \\\"key\\\"\"}}\n"));
	fa_buf_release(&b);

	CHECK(accept_of(NULL, &ct) == FA_FMT_JSON && !strcmp(ct, "application/json"));
	CHECK(accept_of("text/csv", &ct) == FA_FMT_CSV && !strncmp(ct, "text/csv", 8));
	CHECK(accept_of("application/x-ndjson", &ct) == FA_FMT_NDJSON);
	CHECK(accept_of("text/html, */*;q=0.1", &ct) == FA_FMT_JSON);
	CHECK(accept_of("application/json;q=0.5, text/csv", &ct) == FA_FMT_CSV);
	CHECK(accept_of("text/csv;q=0.2,application/x-ndjson;q=0.9", &ct) == FA_FMT_NDJSON);
	CHECK(accept_of("TEXT/CSV", &ct) == FA_FMT_CSV);
	CHECK(accept_of("image/png", &ct) == -1);
	CHECK(accept_of("text/*", &ct) == FA_FMT_CSV);
	CHECK(accept_of("text/*;q=0.5, application/json", &ct) == FA_FMT_JSON);
	CHECK(accept_of("text/csv;q=0", &ct) == -1);
	/* qvalues are read as RFC 9110 has them, not by strtod */
	CHECK(accept_of("text/csv;q=0.501, application/json;q=0.5", &ct) == FA_FMT_CSV);
	CHECK(accept_of("text/csv;q=1.5, application/json;q=0.5", &ct) == FA_FMT_JSON);
	CHECK(accept_of("text/csv;q=5e-1, application/json;q=0.1", &ct) == FA_FMT_JSON);
	CHECK(accept_of("text/csv;q=0.0001", &ct) == -1);
	return check_report("test_hmap");
}
