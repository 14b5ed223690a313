/*
 * test_addr.c - unit tests for address lists with CIDR blocks (http.metrics_allow).
 *
 * The list decides who may read /metrics, so both directions matter: every
 * address that should match does, and neighbours just outside a block, other
 * families and malformed input do not.
 */
#include "tap.h"
#include "vg_addr.h"

#include <string.h>

int main(void)
{
	char why[160];
	const char *list = "127.0.0.1, ::1,10.0.0.0/8,192.168.4.0/22,fd00::/8";

	is_int(vg_addr_list_check("127.0.0.1,::1", why, sizeof(why)), 0,
	       "the default list is valid");
	is_int(vg_addr_list_check("", why, sizeof(why)), 0, "an empty list is valid (nobody)");
	is_int(vg_addr_list_check(list, why, sizeof(why)), 0, "a mixed list is valid");
	is_int(vg_addr_list_check("127.0.0.1,localhost", why, sizeof(why)), -1,
	       "a host name is refused");
	ok(strstr(why, "'localhost'") != NULL, "the refusal names the entry: %s", why);
	is_int(vg_addr_list_check("10.0.0.0/33", why, sizeof(why)), -1,
	       "an IPv4 prefix over 32 is refused");
	is_int(vg_addr_list_check("::/129", why, sizeof(why)), -1,
	       "an IPv6 prefix over 128 is refused");
	is_int(vg_addr_list_check("10.0.0.0/", why, sizeof(why)), -1, "an empty prefix is refused");
	is_int(vg_addr_list_check("10.0.0.0/-1", why, sizeof(why)), -1,
	       "a negative prefix is refused");
	is_int(vg_addr_list_check("10.0.0.0/8x", why, sizeof(why)), -1,
	       "a prefix with junk is refused");

	is_int(vg_addr_allowed(list, "127.0.0.1"), 1, "127.0.0.1 matches");
	is_int(vg_addr_allowed(list, "127.0.0.2"), 0, "127.0.0.2 does not (a single address)");
	is_int(vg_addr_allowed(list, "::1"), 1, "::1 matches");
	is_int(vg_addr_allowed(list, "10.255.255.255"), 1, "10.255.255.255 is in 10.0.0.0/8");
	is_int(vg_addr_allowed(list, "11.0.0.0"), 0, "11.0.0.0 is not");
	is_int(vg_addr_allowed(list, "192.168.7.255"), 1, "192.168.7.255 is in 192.168.4.0/22");
	is_int(vg_addr_allowed(list, "192.168.8.0"), 0, "192.168.8.0 is not");
	is_int(vg_addr_allowed(list, "192.168.3.255"), 0, "192.168.3.255 is not");
	is_int(vg_addr_allowed(list, "::ffff:10.1.2.3"), 1,
	       "an IPv4-mapped client matches the IPv4 block");
	is_int(vg_addr_allowed(list, "fd12::1"), 1, "fd12::1 is in fd00::/8");
	is_int(vg_addr_allowed(list, "fe80::1"), 0, "fe80::1 is not");
	is_int(vg_addr_allowed(list, NULL), 0, "no REMOTE_ADDR matches nothing");
	is_int(vg_addr_allowed(list, ""), 0, "an empty address matches nothing");
	is_int(vg_addr_allowed(list, "10.0.0.0/8"), 0, "a block is not a client address");
	is_int(vg_addr_allowed("", "127.0.0.1"), 0, "an empty list allows nobody");
	is_int(vg_addr_allowed("0.0.0.0/0", "203.0.113.9"), 1,
	       "0.0.0.0/0 allows every IPv4 client");
	is_int(vg_addr_allowed("0.0.0.0/0", "2001:db8::1"), 0, "... but no IPv6 client");
	is_int(vg_addr_allowed("::/0", "2001:db8::1"), 1, "::/0 allows every client");
	is_int(vg_addr_allowed("bogus,127.0.0.1", "127.0.0.1"), 1,
	       "an invalid entry does not spoil the rest");
	return tap_done();
}
