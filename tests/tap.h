/*
 * tap.h - a tiny Test Anything Protocol header for the C unit tests.
 *
 * Each test binary prints "ok N - name" / "not ok N - name" lines and a
 * final plan "1..N"; `make check` (automake's TAP driver) and `./dev test`
 * count those lines. Header-only on purpose: nothing to link, nothing magic.
 *
 *   ok(cond, "name %d", i)         one check
 *   is_int(got, want, "name")      integer equality, prints both on failure
 *   is_str(got, want, "name")      string equality (NULL-safe)
 *   return tap_done();             prints the plan, exit status 1 if any failed
 */
#ifndef VG_TAP_H
#define VG_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n;
static int tap_failed;

__attribute__((format(printf, 2, 3))) static int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

#define is_int(got, want, ...)                                                                     \
	do {                                                                                       \
		long long is_g_ = (long long)(got), is_w_ = (long long)(want);                     \
		if (!ok(is_g_ == is_w_, __VA_ARGS__))                                              \
			printf("#   got: %lld\n#   expected: %lld\n", is_g_, is_w_);               \
	} while (0)

#define is_str(got, want, ...)                                                                     \
	do {                                                                                       \
		const char *is_g_ = (got), *is_w_ = (want);                                        \
		int is_eq_ = (is_g_ == NULL || is_w_ == NULL) ? is_g_ == is_w_                     \
							      : strcmp(is_g_, is_w_) == 0;         \
		if (!ok(is_eq_, __VA_ARGS__))                                                      \
			printf("#   got: '%s'\n#   expected: '%s'\n", is_g_ ? is_g_ : "(null)",    \
			       is_w_ ? is_w_ : "(null)");                                          \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif
