/* SPDX-License-Identifier: MIT */
/*
 * The media floor's error domain (see rc_media_error.h for why it is not the
 * wire protocol's).
 */
#include "pipelines/rc_media_error.h"

G_DEFINE_QUARK (rc-media-error-quark, rc_media_error)
