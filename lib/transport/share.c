/*
 * The libcurl share handle of a client: one connection cache, DNS cache and
 * TLS session cache for the client's own handle, its multi handle and the
 * clones its lanes run on, so that a pull over several lanes reuses the
 * connections and TLS sessions the client already has instead of each lane
 * opening (and handshaking) its own. Lanes run on threads, hence the locks.
 */
#include <pthread.h>
#include <stdlib.h>

#include "client_impl.h"

struct registry__share {
	CURLSH *sh;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
};

static void lock_cb(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
	registry__share *s = ud;
	(void)h, (void)access;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&s->locks[data]);
}

static void unlock_cb(CURL *h, curl_lock_data data, void *ud)
{
	registry__share *s = ud;
	(void)h;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&s->locks[data]);
}

int registry__share_new(registry__share **out)
{
	*out = NULL;
	registry__share *s = calloc(1, sizeof(*s));
	if (!s || !(s->sh = curl_share_init())) {
		free(s);
		return registry__nomem();
	}
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&s->locks[i], NULL);
	curl_share_setopt(s->sh, CURLSHOPT_LOCKFUNC, lock_cb);
	curl_share_setopt(s->sh, CURLSHOPT_UNLOCKFUNC, unlock_cb);
	curl_share_setopt(s->sh, CURLSHOPT_USERDATA, s);
	curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	*out = s;
	return 0;
}

void registry__share_free(registry__share *s)
{
	if (!s)
		return;
	curl_share_cleanup(s->sh);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&s->locks[i]);
	free(s);
}

CURLSH *registry__client_curl_share(const registry_client *c)
{
	return c->share ? c->share->sh : NULL;
}
