/* registry-loop-pull-uv: several pulls at once inside a libuv loop, one
 * thread. The glue: a uv_poll_t per socket libregistry asks to watch (closed
 * when it says so), one uv_timer_t. */
#include <stdlib.h>
#include <uv.h>

#include "loop_common.h"

#define MAX_FDS 1024

typedef struct glue {
	uv_loop_t *uv;
	uv_poll_t *polls[MAX_FDS];
	uv_timer_t timer;
	registry_loop *loop;
} glue;

static void on_poll(uv_poll_t *h, int status, int events)
{
	glue *g = h->data;
	unsigned int ev = ((events & UV_READABLE) ? REGISTRY_LOOP_READ : 0) |
	                  ((events & UV_WRITABLE) ? REGISTRY_LOOP_WRITE : 0) | (status < 0 ? REGISTRY_LOOP_ERROR : 0);
	uv_os_fd_t fd;
	if (uv_fileno((uv_handle_t *)h, &fd) == 0)
		lx_socket_action(g->loop, fd, ev);
}

static void free_handle(uv_handle_t *h)
{
	free(h);
}

static int socket_cb(int fd, unsigned int events, void *ud)
{
	glue *g = ud;
	if (fd < 0 || fd >= MAX_FDS)
		return -1;
	if (!events) {
		if (g->polls[fd]) {
			uv_poll_stop(g->polls[fd]);
			uv_close((uv_handle_t *)g->polls[fd], free_handle);
			g->polls[fd] = NULL;
		}
		return 0;
	}
	if (!g->polls[fd]) {
		uv_poll_t *h = malloc(sizeof(*h));
		if (!h || uv_poll_init_socket(g->uv, h, fd) != 0) {
			free(h);
			return -1;
		}
		h->data = g;
		g->polls[fd] = h;
	}
	int want = ((events & REGISTRY_LOOP_READ) ? UV_READABLE : 0) | ((events & REGISTRY_LOOP_WRITE) ? UV_WRITABLE : 0);
	return uv_poll_start(g->polls[fd], want, on_poll) == 0 ? 0 : -1;
}

static void on_timer(uv_timer_t *t)
{
	glue *g = t->data;
	lx_timeout(g->loop);
}

static int timer_cb(long ms, void *ud)
{
	glue *g = ud;
	uv_timer_stop(&g->timer);
	if (ms >= 0)
		uv_timer_start(&g->timer, on_timer, (uint64_t)ms, 0);
	return 0;
}

static void all_done(lx *x)
{
	glue *g = x->glue;
	uv_stop(g->uv);
}

int main(int argc, char **argv)
{
	lx x = {0};
	int rc = lx_setup(&x, "registry-loop-pull-uv", "libuv", argc, argv);
	if (rc)
		return rc;
	static glue g;
	g.uv = uv_default_loop();
	uv_timer_init(g.uv, &g.timer);
	g.timer.data = &g;
	if (lx_start(&x, &g.loop, socket_cb, timer_cb, &g, all_done) == 0)
		uv_run(g.uv, UV_RUN_DEFAULT);
	rc = lx_finish(&x, g.loop); /* its socket callbacks close the polls */
	uv_close((uv_handle_t *)&g.timer, NULL);
	uv_run(g.uv, UV_RUN_NOWAIT); /* the close callbacks */
	uv_loop_close(g.uv);
	return rc;
}
