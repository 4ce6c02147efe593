/*
 * Time for the library's own waits: a monotonic clock for intervals, sleeps
 * that survive signals, and the absolute deadlines pthread_cond_timedwait
 * wants.
 */
#include <errno.h>
#include <time.h>

#include "internal.h"

double registry__now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void registry__sleep_ms(long ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int registry__sleep_ms_unless(long ms, int (*stop)(void *ud), void *ud)
{
	double end = registry__now_s() + (double)ms / 1000.0;
	for (;;) {
		if (stop && stop(ud))
			return 1;
		double left = (end - registry__now_s()) * 1000.0;
		if (left <= 0)
			return 0;
		registry__sleep_ms(left > REGISTRY__SLEEP_SLICE_MS ? REGISTRY__SLEEP_SLICE_MS : (long)left + 1);
	}
}

int registry__cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t attr;
	int rc = pthread_condattr_init(&attr);
	if (rc)
		return rc;
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!rc)
		rc = pthread_cond_init(cv, &attr);
	pthread_condattr_destroy(&attr);
	return rc;
}

int registry__cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, long ms)
{
	/* The clock registry__cond_init() gave the condition variable: a
	 * wall-clock step (NTP, a suspended VM) neither cuts nor stretches it. */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_cond_timedwait(cv, mu, &ts);
}
