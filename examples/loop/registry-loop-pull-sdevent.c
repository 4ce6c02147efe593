/* registry-loop-pull-sdevent: several pulls at once inside a systemd
 * sd-event loop (as systemd-importd runs), one thread. The glue: an IO
 * event source per socket libregistry asks to watch, one time source. */
#include <stdint.h>
#include <sys/epoll.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "loop_common.h"

#define MAX_FDS 1024

typedef struct glue {
	sd_event *ev;
	sd_event_source *io[MAX_FDS];
	sd_event_source *timer;
	registry_loop *loop;
} glue;

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	glue *g = ud;
	(void)s;
	unsigned int ev = ((revents & EPOLLIN) ? REGISTRY_LOOP_READ : 0) | ((revents & EPOLLOUT) ? REGISTRY_LOOP_WRITE : 0) |
	                  ((revents & (EPOLLERR | EPOLLHUP)) ? REGISTRY_LOOP_ERROR : 0);
	lx_socket_action(g->loop, fd, ev);
	return 0;
}

static int socket_cb(int fd, unsigned int events, void *ud)
{
	glue *g = ud;
	if (fd < 0 || fd >= MAX_FDS)
		return -1;
	uint32_t want = ((events & REGISTRY_LOOP_READ) ? EPOLLIN : 0) | ((events & REGISTRY_LOOP_WRITE) ? EPOLLOUT : 0);
	if (!events) {
		g->io[fd] = sd_event_source_disable_unref(g->io[fd]);
		return 0;
	}
	if (g->io[fd])
		return sd_event_source_set_io_events(g->io[fd], want) < 0 ? -1 : 0;
	return sd_event_add_io(g->ev, &g->io[fd], fd, want, on_io, g) < 0 ? -1 : 0;
}

static int on_time(sd_event_source *s, uint64_t usec, void *ud)
{
	glue *g = ud;
	(void)s, (void)usec;
	lx_timeout(g->loop);
	return 0;
}

static int timer_cb(long ms, void *ud)
{
	glue *g = ud;
	g->timer = sd_event_source_disable_unref(g->timer);
	if (ms < 0)
		return 0;
	return sd_event_add_time_relative(g->ev, &g->timer, CLOCK_MONOTONIC, (uint64_t)ms * 1000, 0, on_time, g) < 0
	               ? -1
	               : 0;
}

static void all_done(lx *x)
{
	glue *g = x->glue;
	sd_event_exit(g->ev, 0);
}

int main(int argc, char **argv)
{
	lx x = {0};
	int rc = lx_setup(&x, "registry-loop-pull-sdevent", "systemd sd-event", argc, argv);
	if (rc)
		return rc;
	static glue g;
	if (sd_event_new(&g.ev) < 0)
		return ex_fail(&x.prog, "sd_event_new");
	if (lx_start(&x, &g.loop, socket_cb, timer_cb, &g, all_done) == 0)
		sd_event_loop(g.ev);
	rc = lx_finish(&x, g.loop);
	for (int fd = 0; fd < MAX_FDS; fd++)
		sd_event_source_disable_unref(g.io[fd]);
	sd_event_source_disable_unref(g.timer);
	sd_event_unref(g.ev);
	return rc;
}
