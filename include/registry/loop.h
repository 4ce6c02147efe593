/** @file
 * libregistry: operations driven by the caller's event loop (no threads).
 *
 * A registry_loop owns one libcurl multi handle. The caller's main loop
 * (GLib, sd-event, libuv, epoll...) drives it: the library says through
 * registry_loop_socket_cb which file descriptors to watch for what and
 * through registry_loop_timer_cb when it wants to be called back; the loop
 * calls registry_loop_socket_action() when a descriptor is ready and
 * registry_loop_timeout() when the timer fires. Operations (registry_op)
 * started on the loop share its connections and complete through a
 * registry_op_done_cb with the result and the error record the blocking
 * call would have given.
 *
 * Rules: no thread is created in loop mode; every callback (socket, timer,
 * progress, completion, the client's trace and credential callbacks) runs
 * inside registry_loop_socket_action(), registry_loop_timeout(),
 * registry_op_cancel() or a start function, on the caller's thread
 * (registry_op_free() and registry_loop_free() may also call the socket
 * callback, to stop watching the descriptors they close). A step
 * does bounded work (hashing and writing as the bytes arrive, in pieces of
 * at most 16 KiB; reading and hashing what is sent, at most 256 KiB at a
 * time; unpacking a layer, about 2 ms of members and file data a step),
 * except the last step of a schema1 conversion, of a Docker destination
 * and of a root filesystem tar (see registry_pull_start(),
 * registry_pull_to_start());
 * registry_loop_step_stats() reports the longest. A
 * callback may start, cancel and free operations (also its own) but must
 * not free the loop. The clients, stores and loop are used by one thread.
 * See docs/event-loop.md.
 */
#ifndef REGISTRY_LOOP_H
#define REGISTRY_LOOP_H

#include <registry/common.h>
#include <registry/blob.h>
#include <registry/client.h>
#include <registry/errors.h>
#include <registry/image.h>
#include <registry/reference.h>
#include <registry/remote.h>
#include <registry/store.h>
#include <registry/unpack.h>

REGISTRY_BEGIN_DECLS

/** A driver of operations on the caller's event loop. @since 1.1 */
typedef struct registry_loop registry_loop;
/** One operation started on a registry_loop. @since 1.1 */
typedef struct registry_op registry_op;

/** registry_loop_socket_cb events: watch for readability. @since 1.1 */
#define REGISTRY_LOOP_READ 0x1u
/** registry_loop_socket_cb events: watch for writability. @since 1.1 */
#define REGISTRY_LOOP_WRITE 0x2u
/** registry_loop_socket_action() events: an error or hang-up on the descriptor. @since 1.1 */
#define REGISTRY_LOOP_ERROR 0x4u

/**
 * Watch @p fd for @p events (REGISTRY_LOOP_READ and/or REGISTRY_LOOP_WRITE,
 * replacing what was asked before for it), or stop watching it when
 * @p events is 0. Return 0; non-zero is an error of the caller's loop
 * (the transfers on @p fd then fail).
 * @since 1.1
 */
typedef int (*registry_loop_socket_cb)(int fd, unsigned int events, void *userdata);

/**
 * Call registry_loop_timeout() once in @p timeout_ms milliseconds (0: as
 * soon as possible, from the loop, not from inside this callback), replacing
 * the timer asked for before; -1 removes it. Return 0.
 * @since 1.1
 */
typedef int (*registry_loop_timer_cb)(long timeout_ms, void *userdata);

/**
 * An operation ended: @p rc is what the blocking call would have returned,
 * and registry_op_error(@p op) (also the thread's error record during the
 * call) holds its error record. The operation stays valid until
 * registry_op_free(), which the callback may call.
 * @since 1.1
 */
typedef void (*registry_op_done_cb)(registry_op *op, int rc, void *userdata);

/**
 * Options of registry_loop_new(). Initialise with REGISTRY_LOOP_OPTIONS_INIT.
 * @since 1.1
 */
typedef struct registry_loop_options {
	unsigned int version;              /**< REGISTRY_LOOP_OPTIONS_VERSION */
	unsigned int flags;                /**< none yet: 0 */
	registry_loop_socket_cb socket_cb; /**< required */
	registry_loop_timer_cb timer_cb;   /**< required */
	void *userdata;                    /**< passed to both callbacks */
} registry_loop_options;

/** Current version of registry_loop_options. @since 1.1 */
#define REGISTRY_LOOP_OPTIONS_VERSION 1
/** Initialiser of registry_loop_options. @since 1.1 */
#define REGISTRY_LOOP_OPTIONS_INIT {REGISTRY_LOOP_OPTIONS_VERSION, 0, NULL, NULL, NULL}

/**
 * Set @p opts to REGISTRY_LOOP_OPTIONS_INIT.
 * @param opts the options to initialise.
 * @return 0, REGISTRY_EINVAL for NULL.
 * @since 1.1
 */
REGISTRY_API int registry_loop_options_init(registry_loop_options *opts);

/**
 * Create a loop driver.
 * @param out receives the loop (free with registry_loop_free()).
 * @param options the callbacks (required).
 * @return 0; REGISTRY_EINVAL (NULL, bad version or flags, a missing
 *         callback); REGISTRY_ENOMEM.
 * @since 1.1
 */
REGISTRY_API int registry_loop_new(registry_loop **out, const registry_loop_options *options);

/**
 * Free the loop. Operations still running are canceled without their
 * completion callback and freed. Not from inside one of its callbacks.
 * @param loop the loop, or NULL.
 * @since 1.1
 */
REGISTRY_API void registry_loop_free(registry_loop *loop);

/**
 * @p fd is ready: let the transfers on it go on.
 * @param loop the loop.
 * @param fd the descriptor the socket callback asked to watch.
 * @param events what it is ready for: REGISTRY_LOOP_READ, _WRITE, _ERROR.
 * @return 0; REGISTRY_EINVAL for NULL or unknown event bits.
 * @since 1.1
 */
REGISTRY_API int registry_loop_socket_action(registry_loop *loop, int fd, unsigned int events);

/**
 * The timer asked for by the timer callback fired.
 * @param loop the loop.
 * @return 0; REGISTRY_EINVAL for NULL.
 * @since 1.1
 */
REGISTRY_API int registry_loop_timeout(registry_loop *loop);

/**
 * How many operations of @p loop have not completed yet.
 * @param loop the loop.
 * @return the count (0 for NULL).
 * @since 1.1
 */
REGISTRY_API size_t registry_loop_pending(const registry_loop *loop);

/**
 * The responsiveness record: how many steps (entries through
 * registry_loop_socket_action(), registry_loop_timeout() and the start
 * functions) ran and the longest one, in microseconds, callbacks included.
 * @param steps receives the count; may be NULL.
 * @param max_us receives the longest step; may be NULL.
 * @param loop the loop.
 * @return 0; REGISTRY_EINVAL for a NULL loop.
 * @since 1.1
 */
REGISTRY_API int registry_loop_step_stats(uint64_t *steps, int64_t *max_us, const registry_loop *loop);

/**
 * Start registry_pull() on @p loop: the same arguments, the same result.
 * @p client and @p store must stay open, and be used on this thread only,
 * until the operation completes; several operations may share them.
 * The progress callback of @p options runs on the loop's thread, and the
 * client's cancel hook is asked at every step (at least every 50 ms).
 * As registry_pull(): every platform with REGISTRY_PULL_ALL_PLATFORMS (one
 * child manifest held at a time), the mirrors of the host configuration
 * (registries.conf) tried in order before the primary, and schema1 images
 * (converted to OCI in the last step, which reads every layer to compute
 * its diff_id: that step grows with the image), foreign layers with
 * REGISTRY_PULL_FOREIGN_LAYERS (since 1.1: fetched beside the other blobs
 * from their URLs, without credentials), and with
 * REGISTRY_PULL_REFERRERS what refers to the image, recursively, each
 * pulled whole by digest on the loop after the image's index.json entry
 * (the referrers API, or the referrers tag schema of registries without
 * it). A signature policy (options
 * version 2, since 1.1 here too) is applied as registry_pull() applies it:
 * the image is verified before anything is fetched or written, its
 * signatures fetched on the loop (lookaside over HTTPS as an external
 * request without the registry's credentials), then the digest verified
 * is pulled; a rejection completes with REGISTRY_EDENIED and the blocking
 * call's message. The policy must stay alive until the operation
 * completes. A GPG check (simple signing) runs inside a step
 * (docs/event-loop.md, "Signature policies"). The completion callback
 * may run before this returns (when the pull fails before any request),
 * with *out already set.
 * @param out receives the operation (free with registry_op_free()).
 * @param loop the loop that drives it.
 * @param client the registry to pull from.
 * @param ref the image (copied).
 * @param store an open store.
 * @param ref_name the index.json name, or NULL (copied).
 * @param options NULL for the defaults (the platform is copied).
 * @param done called once when the operation ends (also when it fails
 *        before any request); required.
 * @param userdata passed to @p done.
 * @return 0 (the result comes through @p done); REGISTRY_EINVAL (NULL
 *         argument, bad options: nothing started, @p done not called);
 *         through @p done, the policy's codes of registry_pull()
 *         (REGISTRY_EDENIED, REGISTRY_EUNSUPPORTED for a requirement this
 *         build cannot check);
 *         REGISTRY_ENOMEM; the errors of the host configuration's mirrors
 *         (a client for a mirror's host).
 * @since 1.1
 */
REGISTRY_API int registry_pull_start(registry_op **out, registry_loop *loop, registry_client *client,
                                     const registry_reference *ref, registry_store *store,
                                     const char *ref_name, const registry_pull_options *options,
                                     registry_op_done_cb done, void *userdata);

/**
 * Start registry_push() on @p loop: the same arguments, the same result
 * and error record. The store's manifests are read and checked (every blob
 * in the store or to be found on the registry, the files' sizes) during
 * this call; blobs up to 64 MiB are hashed before they are sent, in slices
 * of the timer, larger ones as they are sent; then HEAD, and a monolithic
 * PUT (up to chunk_size) or PATCH chunks, up to the client's max_parallel
 * blobs at once, all on the loop's connections; then the manifests,
 * children before the index. A failed PATCH waits (on the timer), asks the
 * registry where the session stands and goes on from there, as the
 * blocking push does. @p client and @p store must stay open, and be used on
 * this thread only, until the operation completes. The progress callback
 * of @p options runs on the loop's thread. A manifest with a subject (a
 * referrer) pushed to a registry without the referrers API (no OCI-Subject
 * in its answer) is added to its subject's referrers tag, as
 * registry_manifest_push() does: read, add, write, and after a pause on the
 * timer a check that no concurrent writer dropped it (REGISTRY_ECONFLICT
 * when they keep doing so). registry_op_result_digest() gives the pushed
 * manifest's digest (digest_out of registry_push()).
 * @param out receives the operation (free with registry_op_free()).
 * @param loop the loop that drives it.
 * @param client the target registry.
 * @param store an open store (an OCI image layout).
 * @param ref_name the image in @p store: a ref.name annotation or a manifest digest (copied).
 * @param target the repository and tag (or digest) to push to (copied).
 * @param options NULL for the defaults; every field of version 1 is applied.
 * @param done called once when the operation ends (also when it fails
 *        before any request, then before this returns); required.
 * @param userdata passed to @p done.
 * @return 0 (the result comes through @p done, with the codes of
 *         registry_push()); REGISTRY_EINVAL (NULL argument, bad options,
 *         a target on another registry: nothing started, @p done not
 *         called); REGISTRY_ENOMEM.
 * @since 1.1
 */
REGISTRY_API int registry_push_start(registry_op **out, registry_loop *loop, registry_client *client,
                                     registry_store *store, const char *ref_name,
                                     const registry_reference *target, const registry_push_options *options,
                                     registry_op_done_cb done, void *userdata);

/**
 * Start registry_copy() on @p loop: the same arguments and options, the
 * same result digest (registry_op_result_digest(): digest_out of
 * registry_copy()) and, for a failure, the same code and error record.
 * Loop mode cannot relay a blob through a thread as registry_copy() does,
 * so the copy is a loop pull (manifests kept byte for byte, the platform
 * of options, or every platform and the index with
 * REGISTRY_COPY_ALL_PLATFORMS) into a temporary store in a new folder under
 * `$TMPDIR` (else /tmp), then a loop push of it to @p target_ref: the blobs
 * are on disk in between (room for the image is needed there), and the
 * temporary store is removed when the copy ends (also after a failure, a
 * cancel or registry_op_free()). When @p source and @p target name the
 * same registry (registry_client_registry()) and the repositories differ,
 * each blob the target lacks is mounted from the source repository
 * (POST ?mount=&from=, as registry_copy() does; since 1.1) instead of
 * uploaded; a registry that does not mount opens an upload session, which
 * the upload then uses. While it runs the copy counts as two
 * operations in registry_loop_pending(). The progress callback of
 * @p options runs during the push (each blob ends once: sent, mounted, or
 * already there; a non-zero return cancels); the cancel hooks of @p source and
 * then @p target are asked at every step. @p source and @p target (which
 * may be the same handle) must stay open, and be used on this thread only,
 * until the operation completes. With REGISTRY_COPY_REFERRERS, once the
 * image is at the target, what refers to it in the source repository is
 * copied too, recursively, one referrer at a time, each a loop copy of
 * its own (by digest, every platform), as registry_copy() does.
 * @param out receives the operation (free with registry_op_free()).
 * @param loop the loop that drives it.
 * @param source the registry to copy from.
 * @param source_ref where the image is (copied).
 * @param target the registry to copy to.
 * @param target_ref the repository and tag (or digest) to copy to (copied).
 * @param options NULL for the defaults (the platform is copied).
 * @param done called once when the operation ends (also when it fails
 *        before any request, then possibly before this returns, with
 *        *out already set); required.
 * @param userdata passed to @p done.
 * @return 0 (the result comes through @p done, with the codes of
 *         registry_copy()); REGISTRY_EINVAL (NULL argument, bad options, a
 *         reference on another registry than its client, a source without
 *         tag or digest: nothing started, @p done not called);
 *         REGISTRY_EIO (the temporary store cannot be made);
 *         REGISTRY_ENOMEM. A policy (options version 2) is applied as by
 *         registry_copy(), to the source before anything is fetched, and
 *         must stay alive until the copy completes.
 * @since 1.1
 */
REGISTRY_API int registry_copy_start(registry_op **out, registry_loop *loop, registry_client *source,
                                     const registry_reference *source_ref, registry_client *target,
                                     const registry_reference *target_ref, const registry_copy_options *options,
                                     registry_op_done_cb done, void *userdata);

/**
 * Start registry_blob_upload_file() on @p loop: the same arguments and
 * options (every field of version 1 applied), the same result and error
 * record. HEAD (unless REGISTRY_BLOB_UPLOAD_SKIP_EXISTS_CHECK), then a
 * monolithic PUT (up to chunk_size) or PATCH chunks, the file read and
 * hashed as the bytes are sent, in slices (see registry_push_start()); the
 * digest is checked when the last bytes are read, before they are sent.
 * The file must stay in place until the operation completes.
 * @param out receives the operation (free with registry_op_free()).
 * @param loop the loop that drives it.
 * @param client the target registry.
 * @param repository the repository to upload to (copied).
 * @param digest the blob's digest (copied).
 * @param path a regular file (copied).
 * @param options NULL for the defaults.
 * @param done called once when the operation ends (also when it fails
 *        before any request, a missing file say, then before this returns);
 *        required.
 * @param userdata passed to @p done.
 * @return 0 (the result comes through @p done, with the codes of
 *         registry_blob_upload_file()); REGISTRY_EINVAL (NULL argument, bad
 *         options: nothing started, @p done not called); REGISTRY_ENOMEM.
 * @since 1.1
 */
REGISTRY_API int registry_blob_upload_file_start(registry_op **out, registry_loop *loop, registry_client *client,
                                                 const char *repository, const char *digest, const char *path,
                                                 const registry_blob_upload_options *options,
                                                 registry_op_done_cb done, void *userdata);

/**
 * Start registry_pull_to() on @p loop: the same arguments, the same result
 * (registry_op_result_digest() gives its digest_out), with the rules of
 * registry_pull_start(). Into an OCI layout, or a `docker load` folder or
 * tarball: those are pulled into a temporary store next to @p dest, then
 * written out in steps of about 2 ms each (a folder hard-links the blobs
 * where it can; a tarball copies every layer in pieces of 256 KiB), its
 * fsync off the step, and renamed into place; the temporary store is
 * removed (in one step), also after a failure or a cancel. A root
 * filesystem (REGISTRY_IMAGE_FORMAT_ROOTFS, _ROOTFS_TAR) is unpacked from
 * that store in steps of about 2 ms each (tar members, and a large file's
 * data in pieces), into a temporary folder beside @p dest renamed into
 * place at the end, as registry_pull_to() does; a tar is then written
 * from that tree in the same slices (since 1.1; it was one step). A
 * cancel during the unpack, the export or the tar removes what was
 * written.
 * @param out receives the operation (free with registry_op_free()).
 * @param loop the loop that drives it.
 * @param client the registry to pull from.
 * @param ref the image (copied).
 * @param dest a folder (REGISTRY_IMAGE_FORMAT_OCI, _DOCKER_DIR, _ROOTFS)
 *        or a file name (REGISTRY_IMAGE_FORMAT_DOCKER_ARCHIVE, _ROOTFS_TAR).
 *        Copied.
 * @param format an enum registry_image_format value.
 * @param options NULL for the defaults.
 * @param done called once when the operation ends; required.
 * @param userdata passed to @p done.
 * @return 0 (the result comes through @p done); the codes of
 *         registry_pull_start(); REGISTRY_EINVAL also for an unknown format
 *         or REGISTRY_PULL_ALL_PLATFORMS with a Docker format;
 *         REGISTRY_ECONFLICT (@p dest exists and is not an empty folder);
 *         REGISTRY_EUNSUPPORTED for a tarball or a root filesystem when
 *         built without libarchive (through @p done); a root filesystem's
 *         unpack fails through @p done with the codes of
 *         registry_store_unpack() (REGISTRY_EDIGEST for a layer that is not
 *         its diff_id). With a signature policy (options version 2) the
 *         image is verified first, as registry_pull_to() does: @p dest is
 *         not touched before the policy accepts it, so its checks
 *         (REGISTRY_ECONFLICT...) come through @p done then, and a
 *         rejection (REGISTRY_EDENIED) leaves it as it was.
 * @since 1.1
 */
REGISTRY_API int registry_pull_to_start(registry_op **out, registry_loop *loop, registry_client *client,
                                        const registry_reference *ref, const char *dest, int format,
                                        const registry_pull_options *options, registry_op_done_cb done,
                                        void *userdata);

/**
 * Start registry_store_unpack() on @p loop: the image @p ref_name of
 * @p store unpacked into the folder @p dest (or a runtime bundle with
 * REGISTRY_UNPACK_BUNDLE), the same tree, stats and error record. The
 * manifest and config are read and the temporary folder beside @p dest
 * made in this call; the layers are then applied in steps of about 2 ms
 * (tar members, and a large file's data in pieces), each step a 0 ms
 * timer of the loop; the last one renames the tree into place. A cancel
 * removes the half-made tree. The progress callback runs in the steps.
 * @p store must stay open until the operation completes.
 * @param out receives the operation (free with registry_op_free()).
 * @param stats NULL, or filled when the operation ends (before @p done);
 *        must stay valid until then.
 * @param loop the loop that drives it.
 * @param store the store holding the image.
 * @param ref_name its index.json name or digest.
 * @param dest a folder that does not exist, or is empty.
 * @param options NULL for the defaults.
 * @param done called once when the operation ends; required.
 * @param userdata passed to @p done.
 * @return 0 (the result comes through @p done, with the codes of
 *         registry_store_unpack(): REGISTRY_EDIGEST, REGISTRY_EFORMAT,
 *         REGISTRY_EIO, REGISTRY_ECANCELED); or, nothing started and
 *         @p done not called: REGISTRY_EINVAL (NULL argument, bad options
 *         or stats version), REGISTRY_ENOTFOUND (no such image in the
 *         store), REGISTRY_ECONFLICT (@p dest is not an empty folder),
 *         REGISTRY_EUNSUPPORTED (not a container image, a schema1 image
 *         kept as served; built without libarchive), REGISTRY_EIO,
 *         REGISTRY_ENOMEM.
 * @since 1.1
 */
REGISTRY_API int registry_store_unpack_start(registry_op **out, registry_unpack_stats *stats, registry_loop *loop,
                                             registry_store *store, const char *ref_name, const char *dest,
                                             const registry_unpack_options *options, registry_op_done_cb done,
                                             void *userdata);

/**
 * Start registry_blob_fetch() on @p loop: one blob into @p store, verified,
 * skipped when the store has it (REGISTRY_PROGRESS_SKIPPED), resumed from
 * a kept partial; the same result and error record, with the rules of
 * registry_pull_start() (@p store must stay open until the operation
 * completes).
 * @param out receives the operation (free with registry_op_free()).
 * @param loop the loop that drives it.
 * @param client the registry to fetch from.
 * @param repository the repository (copied).
 * @param digest the blob's digest (copied).
 * @param expected_size the size from the descriptor, or -1 when unknown.
 * @param store an open store.
 * @param opts NULL for the defaults.
 * @param done called once when the operation ends; required.
 * @param userdata passed to @p done.
 * @return 0 (the result comes through @p done: 0, REGISTRY_EDIGEST,
 *         REGISTRY_ECANCELED, transport errors); REGISTRY_EINVAL (NULL
 *         argument, options version 0 or newer than this library's, unknown
 *         flags); REGISTRY_EFORMAT (bad digest or repository);
 *         REGISTRY_EUNSUPPORTED (a digest algorithm that cannot be
 *         verified); REGISTRY_ENOMEM.
 * @since 1.1
 */
REGISTRY_API int registry_blob_fetch_start(registry_op **out, registry_loop *loop, registry_client *client,
                                           const char *repository, const char *digest, int64_t expected_size,
                                           registry_store *store, const registry_blob_fetch_options *opts,
                                           registry_op_done_cb done, void *userdata);

/**
 * Fetch the next page of @p list (registry_list_tags_open(),
 * registry_list_catalog_open()) on @p loop. When the operation completes
 * with 0, registry_list_next() returns the page's names without a request
 * (registry_list_buffered() of them); fetch again while
 * registry_list_at_end() is 0. The list must stay open, and be used on
 * this thread only, until the operation completes. A failure is kept by the
 * list, as registry_list_next() keeps it.
 * @param out receives the operation (free with registry_op_free()).
 * @param loop the loop that drives it.
 * @param list an open list.
 * @param done called once when the page is in (or failed); required.
 * @param userdata passed to @p done.
 * @return 0 (the result comes through @p done, with the codes of
 *         registry_list_next()); REGISTRY_EINVAL (NULL argument);
 *         REGISTRY_ENOMEM.
 * @since 1.1
 */
REGISTRY_API int registry_list_fetch_start(registry_op **out, registry_loop *loop, registry_list *list,
                                           registry_op_done_cb done, void *userdata);

/**
 * How many names of the fetched page registry_list_next() still returns
 * without a request.
 * @param list the list.
 * @return the count; 0 for NULL or a failed list.
 * @since 1.1
 */
REGISTRY_API size_t registry_list_buffered(const registry_list *list);

/**
 * Whether @p list has nothing more to give: no names buffered and no page
 * left to fetch (or it failed).
 * @param list the list.
 * @return 1 at the end (and for NULL), else 0.
 * @since 1.1
 */
REGISTRY_API int registry_list_at_end(const registry_list *list);

/**
 * Start registry_push_archive() on @p loop: the same arguments and options
 * (every field of version 1 applied), the same result digest
 * (registry_op_result_digest(): digest_out of registry_push_archive()) and,
 * for a failure, the same code and error record. A tarball is read in
 * order, so in loop mode its one reading does what the blocking call's
 * index and uploads read it for: the members are read and hashed in slices
 * of the timer (about 2 ms of reading per step) and written as they are
 * read into a temporary store in a new folder under `$TMPDIR` (else /tmp;
 * room for the archive is needed there); the image's manifest is built as
 * registry_push_archive() builds it; then that image is pushed as
 * registry_push_start() pushes, and the temporary store is removed when
 * the operation ends (also after a failure, a cancel or
 * registry_op_free()). While the push runs the operation counts as two in
 * registry_loop_pending(). The progress callback of @p options runs during
 * the push. @p client must stay open, and be used on this thread only,
 * until the operation completes.
 * @param out receives the operation (free with registry_op_free()).
 * @param loop the loop that drives it.
 * @param client the target registry.
 * @param archive_path the tarball (copied; read from the next step on).
 * @param target the repository and tag (or digest) to push to (copied).
 * @param options NULL for the defaults.
 * @param done called once when the operation ends (a tarball that cannot
 *        be read or is no docker save archive fails through it); required.
 * @param userdata passed to @p done.
 * @return 0 (the result comes through @p done, with the codes of
 *         registry_push_archive()); REGISTRY_EINVAL (NULL argument, bad
 *         options, a target on another registry: nothing started, @p done
 *         not called); REGISTRY_EIO (the temporary store cannot be made);
 *         REGISTRY_EUNSUPPORTED (built without libarchive); REGISTRY_ENOMEM.
 * @since 1.1
 */
REGISTRY_API int registry_push_archive_start(registry_op **out, registry_loop *loop, registry_client *client,
                                             const char *archive_path, const registry_reference *target,
                                             const registry_push_archive_options *options,
                                             registry_op_done_cb done, void *userdata);

/**
 * Cancel @p op: its transfers stop at once (partial blobs stay for a
 * resume; nothing half-written is committed) and its completion callback
 * runs with REGISTRY_ECANCELED before this returns. Nothing happens for an
 * operation that has completed.
 * @param op the operation.
 * @return 0; REGISTRY_EINVAL for NULL.
 * @since 1.1
 */
REGISTRY_API int registry_op_cancel(registry_op *op);

/**
 * Free @p op; a running operation is canceled first, without its
 * completion callback.
 * @param op the operation, or NULL.
 * @since 1.1
 */
REGISTRY_API void registry_op_free(registry_op *op);

/**
 * Whether @p op has completed.
 * @param op the operation.
 * @return 1 when done, 0 while running (or for NULL).
 * @since 1.1
 */
REGISTRY_API int registry_op_done(const registry_op *op);

/**
 * The error record of a completed operation (code 0 after a success).
 * @param op the operation.
 * @return the record, valid until registry_op_free(); NULL for NULL.
 * @since 1.1
 */
REGISTRY_API const registry_error *registry_op_error(const registry_op *op);

/**
 * The digest a completed pull wrote to the index (digest_out of
 * registry_pull()), or the manifest digest a completed push put
 * (digest_out of registry_push()), or a completed copy put (digest_out of
 * registry_copy(), since 1.1 with registry_copy_start()).
 * @param digest receives a copy (free with registry_free()).
 * @param op the operation.
 * @return 0; REGISTRY_EINVAL (NULL, not a pull, a push or a copy, not completed, failed);
 *         REGISTRY_ENOMEM.
 * @since 1.1
 */
REGISTRY_API int registry_op_result_digest(char **digest, const registry_op *op);

REGISTRY_END_DECLS

#endif
