/* SPDX-License-Identifier: MIT */
/*
 * Audio requests: startMedia, answer, ice, stopMedia. A guest's media
 * session is an RcWebrtcBranch on the room's pipeline.
 */
#include "rc_session-private.h"

const RcHandler rc_media_handlers[] = {
  { NULL },
};
