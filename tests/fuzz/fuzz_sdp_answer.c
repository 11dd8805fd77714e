/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a WebRTC guest's answer and ICE candidates, checked the
 * way rc_webrtc_branch.c checks them before webrtcbin sees them: the SDP
 * parse, rc_sdp_check_answer, the Opus fmtp and fingerprint readers; and
 * every line of the input as a trickled candidate (rc_sdp_check_candidate).
 */
#include "pipelines/rc_media_error.h"
#include "pipelines/rc_sdp.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_auto (GStrv) lines = NULL;
  g_autoptr (GstSDPMessage) sdp = NULL; /* made even when the parse fails */

  /* Empty text is a critical in GStreamer; the server never parses one. */
  if (size > 0 && gst_sdp_message_new_from_text (text, &sdp) == GST_SDP_OK && sdp != NULL)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *stereo = NULL;

      if (!rc_sdp_check_answer (sdp, 1, &error))
        g_assert (error != NULL && error->domain == RC_MEDIA_ERROR);
      stereo = rc_sdp_get_opus_fmtp (sdp, "stereo");
      (void) rc_sdp_get_fingerprint (sdp);
    }
  lines = g_strsplit (text, "\n", 16);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;

      if (!rc_sdp_check_candidate (lines[i], &error))
        g_assert (error != NULL && error->domain == RC_MEDIA_ERROR);
    }
  return 0;
}
