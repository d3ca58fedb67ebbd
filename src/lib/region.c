/* SPDX-License-Identifier: Apache-2.0 */
/*
 * region.c - the PureCloud regions: the one table of their domains, and
 * the URLs a domain implies (login.DOMAIN for tokens, api.DOMAIN for the
 * platform API, apps.DOMAIN for the browser application, which is the
 * identity provider's default ssoTargetURI).
 *
 * The list is the vendor SDK's (PURECLOUD.md).  Pure functions; no logging.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "samlbroker.h"

static const char *const regions[] = {
	"mypurecloud.com", "use2.us-gov-pure.cloud", "usw2.pure.cloud",
	"cac1.pure.cloud", "sae1.pure.cloud", "mxc1.pure.cloud",
	"mypurecloud.de", "mypurecloud.ie", "euw2.pure.cloud",
	"euc2.pure.cloud", "edee1.eusc-pure.cloud", "mec1.pure.cloud",
	"aps1.pure.cloud", "apne2.pure.cloud", "apne3.pure.cloud",
	"apse1.pure.cloud", "mypurecloud.com.au", "mypurecloud.jp",
};

const char *
region_find(const char *domain)
{
	for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++)
		if (strcasecmp(domain, regions[i]) == 0)
			return regions[i];
	return NULL;
}

size_t
region_count(void)
{
	return sizeof(regions) / sizeof(regions[0]);
}

const char *
region_domain(size_t i)
{
	return i < region_count() ? regions[i] : NULL;
}

char *
region_url(const char *domain, enum region_url which)
{
	static const char *const prefix[] = {
		[REGION_AUTH_URL] = "https://login.",
		[REGION_SERVICE_URL] = "https://api.",
		[REGION_APPS_URL] = "https://apps.",
	};
	static const char *const suffix[] = {
		[REGION_AUTH_URL] = "/oauth/token",
		[REGION_SERVICE_URL] = "/api/",
		[REGION_APPS_URL] = "",
	};
	size_t	 n = strlen(prefix[which]) + strlen(domain) + strlen(suffix[which]) + 1;
	char	*s = xmalloc(n);

	snprintf(s, n, "%s%s%s", prefix[which], domain, suffix[which]);
	return s;
}

const char *
region_of_url(const char *url, enum region_url which)
{
	for (size_t i = 0; i < region_count(); i++) {
		char	*want = region_url(regions[i], which);
		size_t	 n = strlen(want);
		bool	 match;

		/* The base URL, or (service) the same without its final '/'. */
		match = strcasecmp(url, want) == 0 || (which == REGION_SERVICE_URL &&
		    strlen(url) + 1 == n && strncasecmp(url, want, n - 1) == 0);
		free(want);
		if (match)
			return regions[i];
	}
	return NULL;
}
