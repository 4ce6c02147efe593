/** @file
 * libregistry: error codes and the last-error record.
 *
 * Every fallible function returns int: 0 on success or one of the negative
 * REGISTRY_E... codes below. Codes have fixed values; new codes are added at
 * the end and none is ever removed or renumbered.
 *
 * Details of the last failure on the calling thread are kept in a
 * thread-local record, cleared at the start of every public call that can
 * fail (the outermost one: the library's internal use of its own functions,
 * and your calls from inside a callback, never wipe the record of the
 * operation in progress), and read with registry_error_last() and its
 * accessors. Every non-zero return leaves its code and a message there.
 * Text in the record is printable: control characters (some of which came
 * from the server) are shown as `\xNN` or `\uNNNN`. Each thread sees only its
 * own failures. docs/errors.md says when each code happens.
 */
#ifndef REGISTRY_ERRORS_H
#define REGISTRY_ERRORS_H

#include <registry/common.h>

REGISTRY_BEGIN_DECLS

/** Error codes: what every function returns (0 or one of these).
 *  @since 0.1 (the tag was registry_error_code before 0.2, the name of a
 *  function too; the values are unchanged) */
enum registry_status {
	REGISTRY_OK = 0,             /**< success */
	REGISTRY_EINVAL = -1,        /**< bad argument from the caller */
	REGISTRY_ENOMEM = -2,        /**< out of memory */
	REGISTRY_EIO = -3,           /**< local I/O failure (disk, file, pipe); 0.1 also used it for 5xx */
	REGISTRY_ENETWORK = -4,      /**< cannot resolve, connect, or the connection broke */
	REGISTRY_ETLS = -5,          /**< TLS handshake or certificate verification failed */
	REGISTRY_EAUTH = -6,         /**< authentication required or credentials refused */
	REGISTRY_EDENIED = -7,       /**< authenticated, but not allowed */
	REGISTRY_ENOTFOUND = -8,     /**< repository, manifest, blob or platform not found */
	REGISTRY_EDIGEST = -9,       /**< content does not match its digest */
	REGISTRY_EFORMAT = -10,      /**< malformed reference, manifest or response */
	REGISTRY_EUNSUPPORTED = -11, /**< valid but not supported (by us or the registry) */
	REGISTRY_ETOOLARGE = -12,    /**< input exceeds a configured size limit */
	REGISTRY_ERATELIMIT = -13,   /**< the registry is rate-limiting us (HTTP 429) */
	REGISTRY_ECANCELED = -14,    /**< a callback asked to stop */
	REGISTRY_EPROTOCOL = -15,    /**< the server broke the protocol (bad status, headers) */
	REGISTRY_ECONFLICT = -16,    /**< the operation conflicts with current state */
	REGISTRY_ESERVER = -17,      /**< the registry failed (HTTP 5xx after the retries). @since 1.0 */
	REGISTRY_ETIMEDOUT = -18     /**< a connect, total or low-speed time limit ran out (after the retries). @since 1.0 */
};

/** Opaque last-error record. @since 0.1 */
typedef struct registry_error registry_error;

/**
 * Static, human-readable name of an error code ("not found", ...). Never
 * returns NULL; unknown codes give "unknown error". Any thread; does not
 * touch the last-error record.
 * @since 0.1
 */
REGISTRY_API const char *registry_strerror(int code);

/**
 * The record of the last failure on this thread. Never NULL: after a
 * success its code is 0 and its strings are empty. Owned by the library and
 * valid until the next libregistry call on this thread.
 * @since 0.1
 */
REGISTRY_API const registry_error *registry_error_last(void);

/** The REGISTRY_E... code of @p e (0 for none). @since 0.1 */
REGISTRY_API int registry_error_code(const registry_error *e);
/** A one-line message naming what failed; "" when none. @since 0.1 */
REGISTRY_API const char *registry_error_message(const registry_error *e);
/** The HTTP status of the failing response, 0 when there was none. @since 0.1 */
REGISTRY_API int registry_error_http_status(const registry_error *e);
/** The registry's own error code string, e.g. "MANIFEST_UNKNOWN"; "" when none. @since 0.1 */
REGISTRY_API const char *registry_error_registry_code(const registry_error *e);
/** The registry's detail (JSON text) or another detail; "" when none. @since 0.1 */
REGISTRY_API const char *registry_error_detail(const registry_error *e);
/** The URL of the failing request, without credentials; "" when none. @since 0.1 */
REGISTRY_API const char *registry_error_url(const registry_error *e);

REGISTRY_END_DECLS

#endif
