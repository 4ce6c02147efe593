/*
 * libarchive, loaded on first use (lib/common/archive_lazy.c).
 *
 * libarchive and what Debian links it with (libxml2, ICU, nettle, lzma,
 * lz4, bz2, acl) add about 3 MiB to the resident size of every process
 * that maps them, and most callers of this library never read or write a
 * tar: a pull into an OCI layout does not. So the library does not link
 * libarchive; the files that use it include this header instead of
 * <archive.h>, every archive_* call goes through a table of pointers, and
 * each entry point calls registry__archive_load() before its first one
 * (REGISTRY_EUNSUPPORTED, recorded, when libarchive cannot be loaded).
 *
 * The list below is every libarchive function the library calls: one not
 * listed fails the link (shared libraries are linked with --no-undefined).
 * Regenerate the #define lines with the list when adding one.
 */
#ifndef REGISTRY_ARCHIVE_LAZY_H
#define REGISTRY_ARCHIVE_LAZY_H

#include <archive.h>
#include <archive_entry.h>

#define REGISTRY__ARCHIVE_FUNCTIONS(X) \
	X(archive_entry_atime) \
	X(archive_entry_atime_is_set) \
	X(archive_entry_atime_nsec) \
	X(archive_entry_copy_pathname) \
	X(archive_entry_filetype) \
	X(archive_entry_free) \
	X(archive_entry_gid) \
	X(archive_entry_hardlink) \
	X(archive_entry_linkify) \
	X(archive_entry_linkresolver_free) \
	X(archive_entry_linkresolver_new) \
	X(archive_entry_linkresolver_set_strategy) \
	X(archive_entry_mtime) \
	X(archive_entry_mtime_nsec) \
	X(archive_entry_new) \
	X(archive_entry_pathname) \
	X(archive_entry_perm) \
	X(archive_entry_rdev) \
	X(archive_entry_set_filetype) \
	X(archive_entry_set_gid) \
	X(archive_entry_set_gname) \
	X(archive_entry_set_hardlink) \
	X(archive_entry_set_mtime) \
	X(archive_entry_set_pathname) \
	X(archive_entry_set_perm) \
	X(archive_entry_set_size) \
	X(archive_entry_set_uid) \
	X(archive_entry_set_uname) \
	X(archive_entry_size) \
	X(archive_entry_size_is_set) \
	X(archive_entry_symlink) \
	X(archive_entry_uid) \
	X(archive_entry_xattr_count) \
	X(archive_entry_xattr_next) \
	X(archive_entry_xattr_reset) \
	X(archive_errno) \
	X(archive_error_string) \
	X(archive_format) \
	X(archive_read_data) \
	X(archive_read_data_block) \
	X(archive_read_disk_can_descend) \
	X(archive_read_disk_descend) \
	X(archive_read_disk_new) \
	X(archive_read_disk_open) \
	X(archive_read_disk_set_behavior) \
	X(archive_read_disk_set_symlink_physical) \
	X(archive_read_free) \
	X(archive_read_new) \
	X(archive_read_next_header) \
	X(archive_read_next_header2) \
	X(archive_read_open) \
	X(archive_read_open_fd) \
	X(archive_read_open_filename) \
	X(archive_read_support_filter_all) \
	X(archive_read_support_filter_gzip) \
	X(archive_read_support_filter_zstd) \
	X(archive_read_support_format_raw) \
	X(archive_read_support_format_tar) \
	X(archive_set_error) \
	X(archive_write_close) \
	X(archive_write_data) \
	X(archive_write_data_block) \
	X(archive_write_disk_new) \
	X(archive_write_disk_set_options) \
	X(archive_write_finish_entry) \
	X(archive_write_free) \
	X(archive_write_header) \
	X(archive_write_new) \
	X(archive_write_open) \
	X(archive_write_open_fd) \
	X(archive_write_set_bytes_in_last_block) \
	X(archive_write_set_format_pax_restricted)

typedef struct registry__archive_api {
#define REGISTRY__ARCHIVE_FIELD(name) __typeof__(name) *name; /* NOLINT(bugprone-macro-parentheses): a declarator */
	REGISTRY__ARCHIVE_FUNCTIONS(REGISTRY__ARCHIVE_FIELD)
#undef REGISTRY__ARCHIVE_FIELD
} registry__archive_api;

/* Filled by registry__archive_load(); read only after it returned 0. */
extern registry__archive_api registry__archive;

/* Load libarchive once (thread-safe): 0, or REGISTRY_EUNSUPPORTED recorded
 * with the loader's reason. @what names the operation in the message. */
int registry__archive_load(const char *what);

/* Every call goes through the table (archive_lazy.c, which fills it, sees the real names). */
#ifndef REGISTRY__ARCHIVE_NO_REDIRECT
#define archive_entry_atime (registry__archive.archive_entry_atime)
#define archive_entry_atime_is_set (registry__archive.archive_entry_atime_is_set)
#define archive_entry_atime_nsec (registry__archive.archive_entry_atime_nsec)
#define archive_entry_copy_pathname (registry__archive.archive_entry_copy_pathname)
#define archive_entry_filetype (registry__archive.archive_entry_filetype)
#define archive_entry_free (registry__archive.archive_entry_free)
#define archive_entry_gid (registry__archive.archive_entry_gid)
#define archive_entry_hardlink (registry__archive.archive_entry_hardlink)
#define archive_entry_linkify (registry__archive.archive_entry_linkify)
#define archive_entry_linkresolver_free (registry__archive.archive_entry_linkresolver_free)
#define archive_entry_linkresolver_new (registry__archive.archive_entry_linkresolver_new)
#define archive_entry_linkresolver_set_strategy (registry__archive.archive_entry_linkresolver_set_strategy)
#define archive_entry_mtime (registry__archive.archive_entry_mtime)
#define archive_entry_mtime_nsec (registry__archive.archive_entry_mtime_nsec)
#define archive_entry_new (registry__archive.archive_entry_new)
#define archive_entry_pathname (registry__archive.archive_entry_pathname)
#define archive_entry_perm (registry__archive.archive_entry_perm)
#define archive_entry_rdev (registry__archive.archive_entry_rdev)
#define archive_entry_set_filetype (registry__archive.archive_entry_set_filetype)
#define archive_entry_set_gid (registry__archive.archive_entry_set_gid)
#define archive_entry_set_gname (registry__archive.archive_entry_set_gname)
#define archive_entry_set_hardlink (registry__archive.archive_entry_set_hardlink)
#define archive_entry_set_mtime (registry__archive.archive_entry_set_mtime)
#define archive_entry_set_pathname (registry__archive.archive_entry_set_pathname)
#define archive_entry_set_perm (registry__archive.archive_entry_set_perm)
#define archive_entry_set_size (registry__archive.archive_entry_set_size)
#define archive_entry_set_uid (registry__archive.archive_entry_set_uid)
#define archive_entry_set_uname (registry__archive.archive_entry_set_uname)
#define archive_entry_size (registry__archive.archive_entry_size)
#define archive_entry_size_is_set (registry__archive.archive_entry_size_is_set)
#define archive_entry_symlink (registry__archive.archive_entry_symlink)
#define archive_entry_uid (registry__archive.archive_entry_uid)
#define archive_entry_xattr_count (registry__archive.archive_entry_xattr_count)
#define archive_entry_xattr_next (registry__archive.archive_entry_xattr_next)
#define archive_entry_xattr_reset (registry__archive.archive_entry_xattr_reset)
#define archive_errno (registry__archive.archive_errno)
#define archive_error_string (registry__archive.archive_error_string)
#define archive_format (registry__archive.archive_format)
#define archive_read_data (registry__archive.archive_read_data)
#define archive_read_data_block (registry__archive.archive_read_data_block)
#define archive_read_disk_can_descend (registry__archive.archive_read_disk_can_descend)
#define archive_read_disk_descend (registry__archive.archive_read_disk_descend)
#define archive_read_disk_new (registry__archive.archive_read_disk_new)
#define archive_read_disk_open (registry__archive.archive_read_disk_open)
#define archive_read_disk_set_behavior (registry__archive.archive_read_disk_set_behavior)
#define archive_read_disk_set_symlink_physical (registry__archive.archive_read_disk_set_symlink_physical)
#define archive_read_free (registry__archive.archive_read_free)
#define archive_read_new (registry__archive.archive_read_new)
#define archive_read_next_header (registry__archive.archive_read_next_header)
#define archive_read_next_header2 (registry__archive.archive_read_next_header2)
#define archive_read_open (registry__archive.archive_read_open)
#define archive_read_open_fd (registry__archive.archive_read_open_fd)
#define archive_read_open_filename (registry__archive.archive_read_open_filename)
#define archive_read_support_filter_all (registry__archive.archive_read_support_filter_all)
#define archive_read_support_filter_gzip (registry__archive.archive_read_support_filter_gzip)
#define archive_read_support_filter_zstd (registry__archive.archive_read_support_filter_zstd)
#define archive_read_support_format_raw (registry__archive.archive_read_support_format_raw)
#define archive_read_support_format_tar (registry__archive.archive_read_support_format_tar)
#define archive_set_error (registry__archive.archive_set_error)
#define archive_write_close (registry__archive.archive_write_close)
#define archive_write_data (registry__archive.archive_write_data)
#define archive_write_data_block (registry__archive.archive_write_data_block)
#define archive_write_disk_new (registry__archive.archive_write_disk_new)
#define archive_write_disk_set_options (registry__archive.archive_write_disk_set_options)
#define archive_write_finish_entry (registry__archive.archive_write_finish_entry)
#define archive_write_free (registry__archive.archive_write_free)
#define archive_write_header (registry__archive.archive_write_header)
#define archive_write_new (registry__archive.archive_write_new)
#define archive_write_open (registry__archive.archive_write_open)
#define archive_write_open_fd (registry__archive.archive_write_open_fd)
#define archive_write_set_bytes_in_last_block (registry__archive.archive_write_set_bytes_in_last_block)
#define archive_write_set_format_pax_restricted (registry__archive.archive_write_set_format_pax_restricted)

#endif

#endif
