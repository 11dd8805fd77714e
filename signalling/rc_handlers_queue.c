/* SPDX-License-Identifier: MIT */
/*
 * Queue and playback requests (addSong, play, seek...). The room's player
 * (server/rc_player.c) is the authority; these handlers only check who may
 * do what and turn requests into player calls.
 */
#include "rc_session-private.h"

const RcHandler rc_queue_handlers[] = {
  { NULL },
};
