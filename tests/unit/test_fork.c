/*
 * fork() while another thread holds the library's process-wide locks: the
 * child must still be able to create new handles and use them (issue 14).
 *
 * A thread keeps taking the store's writers lock, and holds it long (each
 * open walks a list of many writers on one handle), while the main thread
 * forks; each child opens a writer on a store of its own (the same lock),
 * creates a client and hashes a digest. Without pthread_atfork around the
 * lock, a child forked while the thread held it waits forever: alarm() ends
 * it and the test fails.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"
#include "store/store_writer.h"

#define HELD_WRITERS 2000
#define FORKS 60

static char root[] = "/tmp/registry-fork-XXXXXX";
static atomic_int stop;

/* Digests that differ only at the end: the writers list walk (under the
 * lock) compares every one to the end, so the lock is held most of the time. */
static void digest_of(char out[80], unsigned n)
{
	snprintf(out, 80, "sha256:%064x", n);
}

static void *lock_taker(void *arg)
{
	registry_store *s = arg;
	char d[80];
	digest_of(d, HELD_WRITERS + 1);
	while (!atomic_load(&stop)) {
		registry__blob_writer *w = NULL;
		int64_t off;
		int already;
		if (registry__blob_writer_open(&w, s, d, -1, &off, &already) == 0)
			registry__blob_writer_abort(w, 0);
	}
	return NULL;
}

/* In the child: new handles work. 0 when they did. */
static int child_work(int i)
{
	alarm(10); /* a deadlocked child dies of SIGALRM */
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/child-%d", root, i);
	registry_store *s = NULL;
	registry_client *c = NULL;
	registry_digest *dg = NULL;
	char d[80], *out = NULL;
	digest_of(d, 1);
	registry__blob_writer *w = NULL;
	int64_t off;
	int already;
	int rc = registry_store_open(&s, dir, REGISTRY_STORE_CREATE);
	if (!rc)
		rc = registry__blob_writer_open(&w, s, d, -1, &off, &already);
	registry__blob_writer_abort(w, 0);
	if (!rc)
		rc = registry_client_new(&c, "registry.example:5000");
	if (!rc)
		rc = registry_digest_new(&dg, REGISTRY_DIGEST_SHA256);
	if (!rc)
		rc = registry_digest_update(dg, "x", 1);
	if (!rc)
		rc = registry_digest_final(&out, dg);
	registry_free(out);
	registry_digest_free(dg);
	registry_client_free(c);
	registry_store_free(s);
	return rc ? 1 : 0;
}

static void test_fork_while_locked(void)
{
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/parent", root);
	registry_store *s = NULL;
	CHECK_INT(registry_store_open(&s, dir, REGISTRY_STORE_CREATE), 0);
	if (!s)
		return;
	static registry__blob_writer *held[HELD_WRITERS];
	for (unsigned i = 0; i < HELD_WRITERS; i++) {
		char d[80];
		int64_t off;
		int already;
		digest_of(d, i);
		CHECK_INT(registry__blob_writer_open(&held[i], s, d, -1, &off, &already), 0);
	}
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, lock_taker, s), 0);
	int hung = 0, failed = 0;
	for (int i = 0; i < FORKS; i++) {
		usleep(1000);
		pid_t pid = fork();
		if (pid == 0)
			_exit(child_work(i));
		int status = 0;
		CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
			hung++;
		else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	if (hung || failed)
		fprintf(stderr, "%d of %d children deadlocked, %d failed\n", hung, FORKS, failed);
	CHECK_INT(hung, 0);
	CHECK_INT(failed, 0);
	for (unsigned i = 0; i < HELD_WRITERS; i++)
		registry__blob_writer_abort(held[i], 0);
	registry_store_free(s);
}

int main(void)
{
	/* One descriptor per held writer. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < HELD_WRITERS + 100) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < HELD_WRITERS + 100) {
			printf("SKIP: needs %d descriptors\n", HELD_WRITERS + 100);
			return 77;
		}
	}
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_fork_while_locked);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return CHECK_DONE();
}
