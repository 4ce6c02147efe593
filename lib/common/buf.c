#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void registry__buf_init(registry__buf *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit;
}

void registry__buf_free(registry__buf *b)
{
	free(b->data);
	registry__buf_init(b, b->limit);
}

static int reserve(registry__buf *b, size_t extra)
{
	if (extra > SIZE_MAX - b->len - 1)
		return REGISTRY_ETOOLARGE;
	size_t need = b->len + extra + 1;
	if (b->limit && b->len + extra > b->limit)
		return REGISTRY_ETOOLARGE;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(b->data, cap);
	if (!p)
		return registry__nomem();
	b->data = p;
	b->cap = cap;
	return 0;
}

int registry__buf_append(registry__buf *b, const void *data, size_t len)
{
	int rc = reserve(b, len);
	if (rc)
		return rc;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int registry__buf_puts(registry__buf *b, const char *s)
{
	return registry__buf_append(b, s, strlen(s));
}

int registry__buf_printf(registry__buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return registry__fail(REGISTRY_EINVAL, "formatting failed");
	int rc = reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *registry__buf_detach(registry__buf *b)
{
	char *p = b->data;
	if (!p)
		p = calloc(1, 1);
	registry__buf_init(b, b->limit);
	return p;
}
