"""Loading libregistry and declaring every C function the bindings may call.

The library is found, in this order:

1. the path in the ``REGISTRY_LIBRARY`` environment variable (when it is set
   and cannot be loaded, import fails: no silent fallback to another copy);
2. ``libregistry.so.1`` by soname, through the dynamic loader's search path;
3. ``ctypes.util.find_library("registry")``.

A library whose major version differs from the bindings' is refused.

Every function of the public headers is declared in ``_SIGNATURES`` with its
``restype`` and ``argtypes``. Symbols are looked up on first use, so the
package imports against a library that lacks some of them (an older build);
calling one of those raises :class:`registry.UnsupportedError` naming it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_int, c_int64, c_long,
                    c_size_t, c_uint, c_uint64, c_void_p)
from typing import Any, Dict, Optional, Tuple

from ._version import __version__

SONAME = "libregistry.so.1"
ENV_VAR = "REGISTRY_LIBRARY"


# -- opaque handle types (distinct, so one cannot be passed for another) --------

class reference(Structure):
    pass


class manifest(Structure):
    pass


class descriptor(Structure):
    pass


class manifest_builder(Structure):
    pass


class client(Structure):
    pass


class store(Structure):
    pass


class progress(Structure):
    pass


class list_(Structure):
    pass


class digest(Structure):
    pass


class error(Structure):
    pass


class image_config(Structure):
    pass


class credential(Structure):
    pass


class policy(Structure):
    pass


class verify_result(Structure):
    pass


reference_p = POINTER(reference)
manifest_p = POINTER(manifest)
descriptor_p = POINTER(descriptor)
builder_p = POINTER(manifest_builder)
client_p = POINTER(client)
store_p = POINTER(store)
progress_p = POINTER(progress)
list_p = POINTER(list_)
digest_p = POINTER(digest)
error_p = POINTER(error)
image_config_p = POINTER(image_config)
credential_p = POINTER(credential)
policy_p = POINTER(policy)
verify_result_p = POINTER(verify_result)


class loop(Structure):
    pass


class op(Structure):
    pass


loop_p = POINTER(loop)
op_p = POINTER(op)

# -- callbacks -----------------------------------------------------------------

#: int (*registry_progress_cb)(const registry_progress *p, void *userdata)
PROGRESS_CB = CFUNCTYPE(c_int, progress_p, c_void_p)
#: int64_t (*registry_blob_read_cb)(void *buf, size_t len, void *userdata)
READ_CB = CFUNCTYPE(c_int64, c_void_p, c_size_t, c_void_p)
#: int (*registry_blob_rewind_cb)(void *userdata)
REWIND_CB = CFUNCTYPE(c_int, c_void_p)
#: int (*registry_cancel_cb)(void *userdata)
CANCEL_CB = CFUNCTYPE(c_int, c_void_p)
#: registry_store_verify's bad_cb(const char *digest, const char *reason, void *ud)
VERIFY_CB = CFUNCTYPE(c_int, c_char_p, c_char_p, c_void_p)
#: registry_blob_fetch_to's write(const void *data, size_t len, void *userdata)
WRITE_CB = CFUNCTYPE(c_int, c_void_p, c_size_t, c_void_p)


class trace_event(Structure):
    """registry_trace_event: fields may be added at the end after a version check (read
    through a pointer)."""
    _fields_ = [("version", c_uint), ("what", c_int), ("method", c_char_p), ("url", c_char_p),
                ("status", c_int), ("elapsed_us", c_int64), ("bytes_sent", c_int64),
                ("bytes_received", c_int64), ("attempt", c_int), ("new_connections", c_int)]


#: void (*registry_trace_cb)(const registry_trace_event *event, void *userdata)
TRACE_CB = CFUNCTYPE(None, POINTER(trace_event), c_void_p)
#: int (*registry_credential_cb)(registry_credential *cred, const char *registry, void *userdata)
CREDENTIAL_CB = CFUNCTYPE(c_int, credential_p, c_char_p, c_void_p)

# -- option structs --------------------------------------------------------------

TLS_OPTIONS_VERSION = 1
TIMEOUT_OPTIONS_VERSION = 1
RETRY_OPTIONS_VERSION = 1
RETRY_NONE = 0x1
INSECURE_ALLOW_HTTP = 0x1
INSECURE_NO_VERIFY = 0x2


class tls_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("ca_file", c_char_p),
                ("ca_path", c_char_p), ("ca_pem", c_char_p), ("cert_file", c_char_p),
                ("cert_pem", c_char_p), ("key_file", c_char_p), ("key_pem", c_char_p),
                ("key_password", c_char_p), ("min_version", c_int)]


class host_config_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("certs_dirs", POINTER(c_char_p)),
                ("auth_files", POINTER(c_char_p)), ("registries_conf", c_char_p),
                ("registries_conf_dir", c_char_p), ("docker_daemon_json", c_char_p),
                ("credential_realms", POINTER(c_char_p))]


class login_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("auth_file", c_char_p)]


LOGIN_NO_VERIFY = 0x1
HOST_CONFIG_OPTIONS_VERSION = 1
HOST_CONFIG_NO_CERTS = 0x1
HOST_CONFIG_NO_AUTH = 0x2
HOST_CONFIG_NO_REGISTRIES_CONF = 0x4
HOST_CONFIG_NO_DOCKER_DAEMON = 0x8


class timeout_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("connect_ms", c_int64),
                ("total_ms", c_int64), ("low_speed_bytes", c_int64), ("low_speed_seconds", c_int64)]


class retry_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("count", c_int),
                ("backoff_base_ms", c_int64), ("max_wait_ms", c_int64)]


MANIFEST_PARSE_OPTIONS_VERSION = 1
PULL_OPTIONS_VERSION = 2
PUSH_OPTIONS_VERSION = 1
PUSH_ARCHIVE_OPTIONS_VERSION = 1
COPY_OPTIONS_VERSION = 2
BLOB_UPLOAD_OPTIONS_VERSION = 1
BLOB_FETCH_MANY_OPTIONS_VERSION = 1
DESCRIPTOR_SPEC_VERSION = 1
IMAGE_CONFIG_FETCH_OPTIONS_VERSION = 1
MANIFEST_DELETE_OPTIONS_VERSION = 1
DELETE_FORCE = 0x1
BLOB_FETCH_OPTIONS_VERSION = 1
BLOB_FETCH_TO_OPTIONS_VERSION = 1
MANIFEST_FETCH_OPTIONS_VERSION = 1
LIST_OPTIONS_VERSION = 1
REFERRERS_FETCH_OPTIONS_VERSION = 1


class manifest_parse_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("max_size", c_size_t)]


PLATFORM_VERSION = 1


class platform(Structure):
    _fields_ = [("version", c_uint), ("os", c_char_p), ("architecture", c_char_p),
                ("variant", c_char_p), ("os_version", c_char_p),
                ("os_features", POINTER(c_char_p))]


class pull_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("platform", POINTER(platform)),
                ("max_manifest_size", c_size_t),
                ("progress", PROGRESS_CB), ("userdata", c_void_p), ("policy", policy_p)]


class push_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("chunk_size", c_size_t),
                ("progress", PROGRESS_CB), ("userdata", c_void_p)]


class push_archive_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("chunk_size", c_size_t),
                ("progress", PROGRESS_CB), ("userdata", c_void_p)]


class copy_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("platform", POINTER(platform)),
                ("chunk_size", c_size_t), ("progress", PROGRESS_CB), ("userdata", c_void_p),
                ("policy", policy_p)]


class blob_upload_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("chunk_size", c_size_t),
                ("progress", PROGRESS_CB), ("userdata", c_void_p)]


class blob_fetch_many_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint),
                ("progress", PROGRESS_CB), ("userdata", c_void_p)]


class descriptor_spec(Structure):
    _fields_ = [("version", c_uint), ("media_type", c_char_p), ("digest", c_char_p),
                ("size", c_int64), ("artifact_type", c_char_p),
                ("urls", POINTER(c_char_p)), ("annotations", POINTER(c_char_p)),
                ("os", c_char_p), ("architecture", c_char_p), ("variant", c_char_p),
                ("os_version", c_char_p), ("os_features", POINTER(c_char_p))]


class blob_fetch_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint),
                ("progress", PROGRESS_CB), ("userdata", c_void_p)]


class blob_fetch_to_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint),
                ("progress", PROGRESS_CB), ("userdata", c_void_p)]


class manifest_fetch_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("max_size", c_size_t)]


class list_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("page_size", c_uint), ("last", c_char_p)]


class referrers_fetch_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("artifact_type", c_char_p),
                ("max_size", c_size_t)]


class artifact_file(Structure):
    _fields_ = [("version", c_uint), ("path", c_char_p), ("media_type", c_char_p), ("title", c_char_p)]


class artifact_push_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("artifact_type", c_char_p),
                ("annotations", POINTER(c_char_p)), ("config_path", c_char_p),
                ("config_media_type", c_char_p), ("subject", c_char_p)]


class artifact_pull_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint)]


ARTIFACT_FILE_VERSION = 1
ARTIFACT_PUSH_OPTIONS_VERSION = 1
ARTIFACT_PULL_OPTIONS_VERSION = 1


class image_config_fetch_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("platform", POINTER(platform))]


POLICY_LOAD_OPTIONS_VERSION = 1
VERIFY_OPTIONS_VERSION = 1


class policy_load_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint)]


class verify_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("registries_d", c_char_p)]


SIGN_OPTIONS_VERSION = 1
SIGN_REPLACE = 0x1
SIGN_REFERRER = 0x2


class sign_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("password", c_char_p), ("identity", c_char_p)]


class manifest_delete_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint)]


IMAGE_CONFIG_PARSE_OPTIONS_VERSION = 1


class image_config_parse_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("max_size", c_size_t)]


STORE_EXPORT_OPTIONS_VERSION = 1


class store_export_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("repo_tag", c_char_p),
                ("progress", PROGRESS_CB), ("userdata", c_void_p)]


# Unpack (issue 16).
UNPACK_OPTIONS_VERSION = 1
UNPACK_STATS_VERSION = 1
UNPACK_DEVICES = 0x1
UNPACK_BUNDLE = 0x2


class unpack_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("platform", POINTER(platform)),
                ("max_size", c_uint64), ("progress", PROGRESS_CB), ("userdata", c_void_p)]


class unpack_stats(Structure):
    _fields_ = [("version", c_uint), ("layers", c_uint64), ("entries", c_uint64), ("bytes", c_uint64),
                ("whiteouts", c_uint64), ("skipped_owners", c_uint64), ("skipped_devices", c_uint64),
                ("skipped_xattrs", c_uint64)]


# Store maintenance options (1.0 freeze review, item 12).
STORE_GC_OPTIONS_VERSION = 1
STORE_VERIFY_OPTIONS_VERSION = 1
STORE_GC_DRY_RUN = 0x1


class store_gc_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("partial_max_age_s", c_int64)]


class store_verify_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("problem", VERIFY_CB),
                ("userdata", c_void_p)]


# The event-loop driver (1.1, registry/loop.h).
LOOP_OPTIONS_VERSION = 1
LOOP_READ, LOOP_WRITE, LOOP_ERROR = 0x1, 0x2, 0x4
#: int (*registry_loop_socket_cb)(int fd, unsigned int events, void *userdata)
LOOP_SOCKET_CB = CFUNCTYPE(c_int, c_int, c_uint, c_void_p)
#: int (*registry_loop_timer_cb)(long timeout_ms, void *userdata)
LOOP_TIMER_CB = CFUNCTYPE(c_int, c_long, c_void_p)
#: void (*registry_op_done_cb)(registry_op *op, int rc, void *userdata)
OP_DONE_CB = CFUNCTYPE(None, op_p, c_int, c_void_p)


class loop_options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("socket_cb", LOOP_SOCKET_CB),
                ("timer_cb", LOOP_TIMER_CB), ("userdata", c_void_p)]


# Out-parameters.
char_pp_owned = POINTER(c_void_p)   # char ** the caller frees with registry_free()
char_pp_borrowed = POINTER(c_char_p)  # const char ** (borrowed or static)
char_buf = POINTER(c_char)  # char * buffer the library writes into

_i, _u, _l, _z, _i64, _s, _v = c_int, c_uint, c_long, c_size_t, c_int64, c_char_p, c_void_p

_SIGNATURES: Dict[str, Tuple[Any, list]] = {
    # the event-loop driver (1.1)
    "registry_loop_options_init": (_i, [POINTER(loop_options)]),
    "registry_loop_new": (_i, [POINTER(loop_p), POINTER(loop_options)]),
    "registry_loop_free": (None, [loop_p]),
    "registry_loop_socket_action": (_i, [loop_p, _i, _u]),
    "registry_loop_timeout": (_i, [loop_p]),
    "registry_loop_pending": (_z, [loop_p]),
    "registry_loop_step_stats": (_i, [POINTER(ctypes.c_uint64), POINTER(_i64), loop_p]),
    "registry_pull_start": (_i, [POINTER(op_p), loop_p, client_p, reference_p, store_p, _s,
                                 POINTER(pull_options), OP_DONE_CB, _v]),
    "registry_pull_to_start": (_i, [POINTER(op_p), loop_p, client_p, reference_p, _s, _i,
                                    POINTER(pull_options), OP_DONE_CB, _v]),
    "registry_blob_fetch_start": (_i, [POINTER(op_p), loop_p, client_p, _s, _s, _i64, store_p,
                                       POINTER(blob_fetch_options), OP_DONE_CB, _v]),
    "registry_list_fetch_start": (_i, [POINTER(op_p), loop_p, list_p, OP_DONE_CB, _v]),
    "registry_push_start": (_i, [POINTER(op_p), loop_p, client_p, store_p, _s, reference_p,
                                 POINTER(push_options), OP_DONE_CB, _v]),
    "registry_blob_upload_file_start": (_i, [POINTER(op_p), loop_p, client_p, _s, _s, _s,
                                             POINTER(blob_upload_options), OP_DONE_CB, _v]),
    "registry_push_archive_start": (_i, [POINTER(op_p), loop_p, client_p, _s, reference_p,
                                         POINTER(push_archive_options), OP_DONE_CB, _v]),
    "registry_store_unpack_start": (_i, [POINTER(op_p), POINTER(unpack_stats), loop_p, store_p, _s, _s,
                                         POINTER(unpack_options), OP_DONE_CB, _v]),
    "registry_copy_start": (_i, [POINTER(op_p), loop_p, client_p, reference_p, client_p, reference_p,
                                 POINTER(copy_options), OP_DONE_CB, _v]),
    "registry_list_buffered": (_z, [list_p]),
    "registry_list_at_end": (_i, [list_p]),
    "registry_op_cancel": (_i, [op_p]),
    "registry_op_free": (None, [op_p]),
    "registry_op_done": (_i, [op_p]),
    "registry_op_error": (error_p, [op_p]),
    "registry_op_result_digest": (_i, [char_pp_owned, op_p]),
    # common, errors, version
    "registry_free": (None, [_v]),
    "registry_global_init": (_i, []),
    "registry_version": (_s, []),
    "registry_strerror": (_s, [_i]),
    "registry_error_last": (error_p, []),
    "registry_error_code": (_i, [error_p]),
    "registry_error_message": (_s, [error_p]),
    "registry_error_http_status": (_i, [error_p]),
    "registry_error_registry_code": (_s, [error_p]),
    "registry_error_detail": (_s, [error_p]),
    "registry_error_url": (_s, [error_p]),
    # digest
    "registry_digest_new": (_i, [POINTER(digest_p), _i]),
    "registry_digest_update": (_i, [digest_p, _s, _z]),
    "registry_digest_final": (_i, [char_pp_owned, digest_p]),
    "registry_digest_free": (None, [digest_p]),
    "registry_digest_buffer": (_i, [char_pp_owned, _i, _s, _z]),
    "registry_digest_validate": (_i, [_s]),
    "registry_digest_compare": (_i, [_s, _s]),
    "registry_digest_backend": (_s, []),
    # reference
    "registry_reference_parse": (_i, [POINTER(reference_p), _s]),
    "registry_reference_new": (_i, [POINTER(reference_p), _s, _s, _s, _s]),
    "registry_reference_free": (None, [reference_p]),
    "registry_reference_registry": (_s, [reference_p]),
    "registry_reference_api_host": (_s, [reference_p]),
    "registry_reference_repository": (_s, [reference_p]),
    "registry_reference_tag": (_s, [reference_p]),
    "registry_reference_digest": (_s, [reference_p]),
    "registry_reference_string": (_s, [reference_p]),
    "registry_reference_familiar": (_s, [reference_p]),
    "registry_reference_validate_repository": (_i, [_s]),
    "registry_reference_validate_tag": (_i, [_s]),
    # manifest
    "registry_manifest_parse_options_init": (_i, [POINTER(manifest_parse_options)]),
    "registry_manifest_parse": (_i, [POINTER(manifest_p), _s, _z, _s,
                                     POINTER(manifest_parse_options)]),
    "registry_manifest_free": (None, [manifest_p]),
    "registry_manifest_media_type": (_s, [manifest_p]),
    "registry_manifest_digest": (_s, [manifest_p]),
    "registry_manifest_size": (_i64, [manifest_p]),
    "registry_manifest_raw": (_v, [manifest_p, POINTER(_z)]),
    "registry_manifest_kind": (_i, [manifest_p]),
    "registry_manifest_schema_version": (_i, [manifest_p]),
    "registry_manifest_signed": (_i, [manifest_p]),
    "registry_manifest_config": (descriptor_p, [manifest_p]),
    "registry_manifest_layer_count": (_z, [manifest_p]),
    "registry_manifest_layer": (descriptor_p, [manifest_p, _z]),
    "registry_manifest_entry_count": (_z, [manifest_p]),
    "registry_manifest_entry": (descriptor_p, [manifest_p, _z]),
    "registry_manifest_artifact_type": (_s, [manifest_p]),
    "registry_manifest_subject": (descriptor_p, [manifest_p]),
    "registry_manifest_annotation_count": (_z, [manifest_p]),
    "registry_manifest_annotation_key": (_s, [manifest_p, _z]),
    "registry_manifest_annotation_value": (_s, [manifest_p, _z]),
    "registry_manifest_annotation": (_s, [manifest_p, _s]),
    "registry_manifest_schema1_name": (_s, [manifest_p]),
    "registry_manifest_schema1_tag": (_s, [manifest_p]),
    "registry_manifest_schema1_architecture": (_s, [manifest_p]),
    "registry_manifest_history_count": (_z, [manifest_p]),
    "registry_manifest_history": (_s, [manifest_p, _z]),
    "registry_manifest_history_throwaway": (_i, [manifest_p, _z]),
    "registry_manifest_to_json": (_i, [char_pp_owned, manifest_p]),
    "registry_manifest_select_platform": (_i, [POINTER(descriptor_p), manifest_p, POINTER(platform)]),
    "registry_platform_init": (_i, [POINTER(platform)]),
    "registry_platform_parse": (_i, [POINTER(POINTER(platform)), _s]),
    "registry_platform_free": (None, [POINTER(platform)]),
    "registry_reference_dup": (_i, [POINTER(reference_p), reference_p]),
    "registry_reference_equal": (_i, [reference_p, reference_p]),
    "registry_manifest_host_platform": (_i, [char_pp_borrowed, char_pp_borrowed,
                                             char_pp_borrowed]),
    "registry_descriptor_media_type": (_s, [descriptor_p]),
    "registry_descriptor_digest": (_s, [descriptor_p]),
    "registry_descriptor_size": (_i64, [descriptor_p]),
    "registry_descriptor_artifact_type": (_s, [descriptor_p]),
    "registry_descriptor_url_count": (_z, [descriptor_p]),
    "registry_descriptor_url": (_s, [descriptor_p, _z]),
    "registry_descriptor_annotation_count": (_z, [descriptor_p]),
    "registry_descriptor_annotation_key": (_s, [descriptor_p, _z]),
    "registry_descriptor_annotation_value": (_s, [descriptor_p, _z]),
    "registry_descriptor_annotation": (_s, [descriptor_p, _s]),
    "registry_descriptor_has_platform": (_i, [descriptor_p]),
    "registry_descriptor_platform_os": (_s, [descriptor_p]),
    "registry_descriptor_platform_architecture": (_s, [descriptor_p]),
    "registry_descriptor_platform_variant": (_s, [descriptor_p]),
    "registry_descriptor_platform_os_version": (_s, [descriptor_p]),
    "registry_descriptor_platform_os_feature_count": (_z, [descriptor_p]),
    "registry_descriptor_platform_os_feature": (_s, [descriptor_p, _z]),
    "registry_descriptor_platform_feature_count": (_z, [descriptor_p]),
    "registry_descriptor_platform_feature": (_s, [descriptor_p, _z]),
    "registry_manifest_builder_new": (_i, [POINTER(builder_p), _s]),
    "registry_manifest_builder_free": (None, [builder_p]),
    "registry_manifest_builder_set_config": (_i, [builder_p, POINTER(descriptor_spec)]),
    "registry_manifest_builder_add_layer": (_i, [builder_p, POINTER(descriptor_spec)]),
    "registry_descriptor_spec_init": (_i, [POINTER(descriptor_spec)]),
    "registry_manifest_builder_add_manifest": (_i, [builder_p, POINTER(descriptor_spec)]),
    "registry_manifest_builder_add_descriptor": (_i, [builder_p, descriptor_p]),
    "registry_manifest_builder_set_annotation": (_i, [builder_p, _s, _s]),
    "registry_manifest_builder_set_artifact_type": (_i, [builder_p, _s]),
    "registry_manifest_builder_set_subject": (_i, [builder_p, POINTER(descriptor_spec)]),
    "registry_manifest_builder_build": (_i, [POINTER(manifest_p), builder_p]),
    # store
    "registry_store_open": (_i, [POINTER(store_p), _s, _u]),
    "registry_store_free": (None, [store_p]),
    "registry_store_path": (_s, [store_p]),
    "registry_store_has": (_i, [store_p, _s]),
    "registry_store_blob_size": (_i, [POINTER(_i64), store_p, _s]),
    "registry_store_blob_path": (_i, [char_pp_owned, store_p, _s]),
    "registry_store_read_blob": (_i, [POINTER(_v), POINTER(_z), store_p, _s, _z]),
    "registry_store_add_blob": (_i, [char_pp_owned, store_p, _s, _s, _z]),
    "registry_store_add_blob_file": (_i, [char_pp_owned, store_p, _s, _s]),
    "registry_store_index_count": (_z, [store_p]),
    "registry_store_index_entry": (descriptor_p, [store_p, _z]),
    "registry_store_index_find": (_i, [POINTER(descriptor_p), store_p, _s]),
    "registry_store_index_add": (_i, [store_p, POINTER(descriptor_spec), _s]),
    "registry_store_index_remove": (_i, [store_p, _s]),
    "registry_store_index_batch_begin": (_i, [store_p]),
    "registry_store_index_batch_commit": (_i, [store_p]),
    "registry_store_index_batch_abort": (None, [store_p]),
    "registry_store_verify_options_init": (_i, [POINTER(store_verify_options)]),
    "registry_store_verify": (_i, [POINTER(_z), store_p, POINTER(store_verify_options)]),
    "registry_store_gc_options_init": (_i, [POINTER(store_gc_options)]),
    "registry_store_gc": (_i, [POINTER(_z), store_p, POINTER(store_gc_options)]),
    # client
    "registry_client_new": (_i, [POINTER(client_p), _s]),
    "registry_client_free": (None, [client_p]),
    "registry_tls_options_init": (_i, [POINTER(tls_options)]),
    "registry_client_set_tls": (_i, [client_p, POINTER(tls_options)]),
    "registry_host_config_options_init": (_i, [POINTER(host_config_options)]),
    "registry_client_load_host_config": (_i, [client_p, POINTER(host_config_options)]),
    "registry_login_options_init": (_i, [POINTER(login_options)]),
    "registry_login": (_i, [client_p, _s, _s, POINTER(login_options)]),
    "registry_logout": (_i, [client_p, POINTER(login_options)]),
    "registry_timeout_options_init": (_i, [POINTER(timeout_options)]),
    "registry_retry_options_init": (_i, [POINTER(retry_options)]),
    "registry_client_set_insecure": (_i, [client_p, _u]),
    "registry_client_set_user_agent": (_i, [client_p, _s]),
    "registry_client_set_timeouts": (_i, [client_p, POINTER(timeout_options)]),
    "registry_client_set_retries": (_i, [client_p, POINTER(retry_options)]),
    "registry_client_set_max_parallel": (_i, [client_p, _i]),
    "registry_client_set_cancel": (_i, [client_p, CANCEL_CB, c_void_p]),
    "registry_client_set_proxy": (_i, [client_p, _s, _s]),
    "registry_client_add_header": (_i, [client_p, _s]),
    "registry_client_set_trace": (_i, [client_p, TRACE_CB, _v]),
    "registry_credential_set": (_i, [credential_p, _s, _s]),
    "registry_client_set_credential_provider": (_i, [client_p, CREDENTIAL_CB, _v]),
    "registry_client_add_resolve": (_i, [client_p, _s, _i, _s]),
    "registry_client_set_credentials": (_i, [client_p, _s, _s]),
    "registry_client_set_identity_token": (_i, [client_p, _s]),
    "registry_client_load_docker_config": (_i, [client_p, _s]),
    "registry_client_ping": (_i, [client_p]),
    "registry_client_registry": (_s, [client_p]),
    "registry_client_base_url": (_s, [client_p]),
    "registry_client_auth_scheme": (_i, [client_p]),
    "registry_client_rate_limit": (_i, [POINTER(_i64), POINTER(_i64), client_p]),
    # remote manifests, lists, referrers
    "registry_manifest_resolve": (_i, [char_pp_owned, char_pp_owned, POINTER(_i64),
                                       client_p, _s, _s]),
    "registry_manifest_fetch_options_init": (_i, [POINTER(manifest_fetch_options)]),
    "registry_manifest_fetch": (_i, [POINTER(manifest_p), client_p, _s, _s,
                                     POINTER(manifest_fetch_options)]),
    "registry_manifest_push": (_i, [char_pp_owned, client_p, _s, _s, manifest_p]),
    "registry_manifest_delete_options_init": (_i, [POINTER(manifest_delete_options)]),
    "registry_manifest_delete": (_i, [char_pp_owned, client_p, _s, _s,
                                      POINTER(manifest_delete_options)]),
    "registry_list_options_init": (_i, [POINTER(list_options)]),
    "registry_list_tags_open": (_i, [POINTER(list_p), client_p, _s, POINTER(list_options)]),
    "registry_list_catalog_open": (_i, [POINTER(list_p), client_p, POINTER(list_options)]),
    "registry_list_next": (_i, [char_pp_borrowed, list_p]),
    "registry_list_free": (None, [list_p]),
    "registry_referrers_fetch_options_init": (_i, [POINTER(referrers_fetch_options)]),
    "registry_referrers_fetch": (_i, [POINTER(manifest_p), client_p, _s, _s,
                                      POINTER(referrers_fetch_options)]),
    # blobs and progress
    "registry_progress_digest": (_s, [progress_p]),
    "registry_progress_state": (_i, [progress_p]),
    "registry_progress_bytes_done": (_i64, [progress_p]),
    "registry_progress_bytes_total": (_i64, [progress_p]),
    "registry_progress_overall_done": (_i64, [progress_p]),
    "registry_progress_overall_total": (_i64, [progress_p]),
    "registry_progress_blobs_done": (_z, [progress_p]),
    "registry_progress_blobs_total": (_z, [progress_p]),
    "registry_blob_head": (_i, [POINTER(_i64), client_p, _s, _s]),
    "registry_blob_fetch_options_init": (_i, [POINTER(blob_fetch_options)]),
    "registry_blob_fetch": (_i, [client_p, _s, _s, _i64, store_p, POINTER(blob_fetch_options)]),
    "registry_blob_fetch_many_options_init": (_i, [POINTER(blob_fetch_many_options)]),
    "registry_blob_fetch_many": (_i, [POINTER(_i), client_p, _s, _z, POINTER(c_char_p),
                                      POINTER(_i64), store_p, POINTER(blob_fetch_many_options)]),
    "registry_blob_fetch_to_options_init": (_i, [POINTER(blob_fetch_to_options)]),
    "registry_blob_fetch_to": (_i, [client_p, _s, _s, _i64, WRITE_CB, _v,
                                    POINTER(blob_fetch_to_options)]),
    "registry_blob_upload_options_init": (_i, [POINTER(blob_upload_options)]),
    "registry_blob_upload": (_i, [client_p, _s, _s, _i64, READ_CB, REWIND_CB, _v,
                                  POINTER(blob_upload_options)]),
    "registry_blob_upload_file": (_i, [client_p, _s, _s, _s, POINTER(blob_upload_options)]),
    "registry_blob_mount": (_i, [client_p, _s, _s, _s]),
    # whole images
    "registry_pull_options_init": (_i, [POINTER(pull_options)]),
    "registry_pull": (_i, [char_pp_owned, client_p, reference_p, store_p, _s,
                           POINTER(pull_options)]),
    "registry_pull_to": (_i, [char_pp_owned, client_p, reference_p, _s, _i, POINTER(pull_options)]),
    "registry_store_export_options_init": (_i, [POINTER(store_export_options)]),
    "registry_store_export": (_i, [store_p, _s, _s, _i, POINTER(store_export_options)]),
    "registry_unpack_options_init": (_i, [POINTER(unpack_options)]),
    "registry_store_unpack": (_i, [POINTER(unpack_stats), store_p, _s, _s, POINTER(unpack_options)]),
    "registry_store_unpack_tar": (_i, [POINTER(unpack_stats), store_p, _s, _s, _i, POINTER(unpack_options)]),
    "registry_layer_apply": (_i, [POINTER(unpack_stats), _s, _i, _s, POINTER(unpack_options)]),
    "registry_archive_unpack": (_i, [POINTER(unpack_stats), _s, _s, _s, POINTER(unpack_options)]),
    "registry_push_options_init": (_i, [POINTER(push_options)]),
    "registry_push": (_i, [char_pp_owned, client_p, store_p, _s, reference_p,
                           POINTER(push_options)]),
    "registry_push_archive_options_init": (_i, [POINTER(push_archive_options)]),
    "registry_push_archive": (_i, [char_pp_owned, client_p, _s, reference_p,
                                   POINTER(push_archive_options)]),
    # artifacts (issue 18)
    "registry_artifact_push_options_init": (_i, [POINTER(artifact_push_options)]),
    "registry_artifact_push": (_i, [char_pp_owned, client_p, reference_p,
                                    POINTER(POINTER(artifact_file)), POINTER(artifact_push_options)]),
    "registry_artifact_pull_options_init": (_i, [POINTER(artifact_pull_options)]),
    "registry_artifact_pull": (_i, [char_pp_owned, client_p, reference_p, _s,
                                    POINTER(artifact_pull_options)]),
    "registry_copy_options_init": (_i, [POINTER(copy_options)]),
    "registry_copy": (_i, [char_pp_owned, client_p, reference_p, client_p, reference_p,
                           POINTER(copy_options)]),
    # image configuration (0.2)
    "registry_image_config_parse_options_init": (_i, [POINTER(image_config_parse_options)]),
    "registry_image_config_parse": (_i, [POINTER(image_config_p), _s, _z,
                                         POINTER(image_config_parse_options)]),
    "registry_image_config_free": (None, [image_config_p]),
    "registry_image_config_string": (_s, [image_config_p, _i]),
    "registry_image_config_list_present": (_i, [image_config_p, _i]),
    "registry_image_config_list_count": (_z, [image_config_p, _i]),
    "registry_image_config_list_item": (_s, [image_config_p, _i, _z]),
    "registry_image_config_label_count": (_z, [image_config_p]),
    "registry_image_config_label_key": (_s, [image_config_p, _z]),
    "registry_image_config_label_value": (_s, [image_config_p, _z]),
    "registry_image_config_label": (_s, [image_config_p, _s]),
    "registry_image_config_history_count": (_z, [image_config_p]),
    "registry_image_config_history": (_s, [image_config_p, _z, _i]),
    "registry_image_config_history_empty_layer": (_i, [image_config_p, _z]),
    "registry_image_config_to_json": (_i, [char_pp_owned, image_config_p]),
    "registry_image_config_fetch_options_init": (_i, [POINTER(image_config_fetch_options)]),
    "registry_image_config_fetch": (_i, [POINTER(image_config_p), client_p, reference_p,
                                         POINTER(image_config_fetch_options)]),
}


# include/registry/trust.h
_SIGNATURES.update({
    "registry_policy_load_options_init": (_i, [POINTER(policy_load_options)]),
    "registry_policy_load_from_memory": (_i, [POINTER(policy_p), _s, _z, POINTER(policy_load_options)]),
    "registry_policy_load": (_i, [POINTER(policy_p), _s, POINTER(policy_load_options)]),
    "registry_policy_free": (None, [policy_p]),
    "registry_verify_options_init": (_i, [POINTER(verify_options)]),
    "registry_verify": (_i, [POINTER(verify_result_p), client_p, reference_p, policy_p, POINTER(verify_options)]),
    "registry_verify_result_accepted": (_i, [verify_result_p]),
    "registry_verify_result_reason": (_s, [verify_result_p]),
    "registry_verify_result_digest": (_s, [verify_result_p]),
    "registry_verify_result_scope": (_s, [verify_result_p]),
    "registry_verify_result_signature_count": (_z, [verify_result_p]),
    "registry_verify_result_signature_kind": (_s, [verify_result_p, _z]),
    "registry_verify_result_signature_source": (_s, [verify_result_p, _z]),
    "registry_verify_result_signature_accepted": (_i, [verify_result_p, _z]),
    "registry_verify_result_signature_reason": (_s, [verify_result_p, _z]),
    "registry_verify_result_free": (None, [verify_result_p]),
    "registry_sign_options_init": (_i, [POINTER(sign_options)]),
    "registry_sign_cosign": (_i, [char_pp_owned, client_p, reference_p, _s, _z, POINTER(sign_options)]),
    "registry_sign_gpg": (_i, [char_pp_owned, client_p, reference_p, _s, _s, POINTER(sign_options)]),
})

class LibraryLoadError(ImportError):
    """libregistry could not be found, loaded, or is of another major version."""


def _loaded_path(lib: ctypes.CDLL, fallback: str) -> str:
    """The file the dynamic loader actually mapped for @lib (dlinfo), else @fallback."""

    class _LinkMap(Structure):
        _fields_ = [("l_addr", c_void_p), ("l_name", c_char_p)]

    try:
        libc = ctypes.CDLL(None)
        dlinfo = libc.dlinfo
    except (OSError, AttributeError):
        return fallback
    dlinfo.argtypes = [c_void_p, c_int, c_void_p]
    dlinfo.restype = c_int
    lm = POINTER(_LinkMap)()
    RTLD_DI_LINKMAP = 2
    if dlinfo(lib._handle, RTLD_DI_LINKMAP, ctypes.byref(lm)) != 0 or not lm or not lm.contents.l_name:
        return fallback
    return os.path.abspath(os.fsdecode(lm.contents.l_name))


def _open() -> Tuple[ctypes.CDLL, str]:
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        try:
            lib = ctypes.CDLL(explicit)
        except OSError as e:
            raise LibraryLoadError("%s=%s cannot be loaded: %s" % (ENV_VAR, explicit, e)) from e
        return lib, _loaded_path(lib, os.path.abspath(explicit))
    tried = []
    try:
        lib = ctypes.CDLL(SONAME)
        return lib, _loaded_path(lib, SONAME)
    except OSError as e:
        tried.append("%s: %s" % (SONAME, e))
    found = ctypes.util.find_library("registry")
    if found:
        try:
            lib = ctypes.CDLL(found)
            return lib, _loaded_path(lib, found)
        except OSError as e:
            tried.append("%s: %s" % (found, e))
    else:
        tried.append("ctypes.util.find_library('registry') found nothing")
    raise LibraryLoadError("libregistry not found (set %s to its path); tried %s"
                           % (ENV_VAR, "; ".join(tried)))


def _typed(fn: Any, name: str) -> Any:
    """@fn raising TypeError, with the function and argument named, where ctypes
    would raise its own ArgumentError for an argument of the wrong type."""

    def call(*args: Any) -> Any:
        try:
            return fn(*args)
        except ctypes.ArgumentError as e:
            raise TypeError("%s: %s" % (name, str(e).replace("<class 'TypeError'>: ", ""))) from None

    call.__name__ = name
    return call


class _Functions:
    """The C functions, declared from _SIGNATURES and looked up on first use."""

    def __init__(self, lib: ctypes.CDLL, path: str) -> None:
        self._lib = lib
        self._path = path

    def __getattr__(self, name: str) -> Any:
        try:
            restype, argtypes = _SIGNATURES[name]
        except KeyError:
            raise AttributeError("%s is not a declared libregistry function" % name) from None
        try:
            fn = getattr(self._lib, name)
        except AttributeError:
            from .errors import UnsupportedError, EUNSUPPORTED
            raise UnsupportedError(
                "%s is not exported by %s (libregistry %s): that library is older than "
                "these bindings" % (name, self._path, library_version), code=EUNSUPPORTED) from None
        fn.restype = restype
        fn.argtypes = argtypes
        call = _typed(fn, name)
        self.__dict__[name] = call
        return call

    def has(self, name: str) -> bool:
        """Whether the loaded library exports @name (a declared function)."""
        if name not in _SIGNATURES:
            raise AttributeError("%s is not a declared libregistry function" % name)
        return hasattr(self._lib, name)


def _major(version: str) -> Optional[str]:
    head = version.split(".", 1)[0]
    return head if head.isdigit() else None


_cdll, library_path = _open()
C = _Functions(_cdll, library_path)
library_version: str = (C.registry_version() or b"").decode("ascii", "replace")
if _major(library_version) is None or _major(library_version) != _major(__version__):
    raise LibraryLoadError(
        "%s is libregistry %s, but these bindings (%s) need major version %s"
        % (library_path, library_version or "(no version)", __version__, _major(__version__)))
