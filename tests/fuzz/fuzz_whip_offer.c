/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a WHIP POST body, the SDP offer of a live host, through
 * rc_sdp_parse_whip_offer (text checks, SDP parse, the section and codec
 * checks, normalisation). A refusal must come with an RC_MEDIA_ERROR.
 */
#include "pipelines/rc_media_error.h"
#include "pipelines/rc_sdp.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  GstSDPMessage *offer = rc_sdp_parse_whip_offer ((const char *) data, size, &error);

  if (offer == NULL)
    g_assert (error != NULL && error->domain == RC_MEDIA_ERROR);
  else
    {
      g_autofree char *text = gst_sdp_message_as_text (offer);

      g_assert (error == NULL && text != NULL);
      gst_sdp_message_free (offer);
    }
  return 0;
}
