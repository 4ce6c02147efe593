/* registry-loop-pull-glib: several pulls at once inside a GLib main loop,
 * one thread. The glue: a g_unix_fd_add() source per socket libregistry
 * asks to watch, and one g_timeout_add() for its timer. */
#include <glib-unix.h>
#include <glib.h>

#include "loop_common.h"

typedef struct glue {
	GMainLoop *main;
	GHashTable *sources; /* fd -> source id */
	guint timer;
	registry_loop *loop;
} glue;

static gboolean on_fd(gint fd, GIOCondition cond, gpointer ud)
{
	glue *g = ud;
	unsigned int ev = ((cond & G_IO_IN) ? REGISTRY_LOOP_READ : 0) | ((cond & G_IO_OUT) ? REGISTRY_LOOP_WRITE : 0) |
	                  ((cond & (G_IO_ERR | G_IO_HUP)) ? REGISTRY_LOOP_ERROR : 0);
	lx_socket_action(g->loop, fd, ev);
	return G_SOURCE_CONTINUE; /* the socket callback removes it when done */
}

static int socket_cb(int fd, unsigned int events, void *ud)
{
	glue *g = ud;
	gpointer id = g_hash_table_lookup(g->sources, GINT_TO_POINTER(fd));
	if (id) {
		g_source_remove(GPOINTER_TO_UINT(id));
		g_hash_table_remove(g->sources, GINT_TO_POINTER(fd));
	}
	if (events) {
		GIOCondition cond = ((events & REGISTRY_LOOP_READ) ? G_IO_IN : 0) |
		                    ((events & REGISTRY_LOOP_WRITE) ? G_IO_OUT : 0);
		guint nid = g_unix_fd_add(fd, cond, on_fd, g);
		g_hash_table_insert(g->sources, GINT_TO_POINTER(fd), GUINT_TO_POINTER(nid));
	}
	return 0;
}

static gboolean on_timer(gpointer ud)
{
	glue *g = ud;
	g->timer = 0;
	lx_timeout(g->loop);
	return G_SOURCE_REMOVE;
}

static int timer_cb(long ms, void *ud)
{
	glue *g = ud;
	if (g->timer)
		g_source_remove(g->timer);
	g->timer = ms < 0 ? 0 : g_timeout_add((guint)ms, on_timer, g);
	return 0;
}

static void all_done(lx *x)
{
	glue *g = x->glue;
	g_main_loop_quit(g->main);
}

int main(int argc, char **argv)
{
	lx x = {0};
	int rc = lx_setup(&x, "registry-loop-pull-glib", "GLib", argc, argv);
	if (rc)
		return rc;
	glue g = {.main = g_main_loop_new(NULL, FALSE), .sources = g_hash_table_new(NULL, NULL)};
	if (lx_start(&x, &g.loop, socket_cb, timer_cb, &g, all_done) == 0)
		g_main_loop_run(g.main);
	rc = lx_finish(&x, g.loop); /* frees the loop: its sockets are closed */
	GHashTableIter it;
	gpointer key, id;
	g_hash_table_iter_init(&it, g.sources);
	while (g_hash_table_iter_next(&it, &key, &id))
		g_source_remove(GPOINTER_TO_UINT(id));
	if (g.timer)
		g_source_remove(g.timer);
	g_hash_table_destroy(g.sources);
	g_main_loop_unref(g.main);
	return rc;
}
