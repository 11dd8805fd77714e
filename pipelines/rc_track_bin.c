/* SPDX-License-Identifier: MIT */
/*
 * RcTrackBin: the bin a room's track decodes in. GstBin treats an ERROR
 * from a child as a failure of any asynchronous state change in progress,
 * which would strand a guest branch that is still prerolling; a bad file
 * must only skip itself, so its ERRORs reach the pipeline's bus as element
 * messages instead.
 *
 * It also builds the track's decoding (rc_track_bin_add_decoder). A local
 * file is decoded without decodebin: decodebin puts a multiqueue (and its
 * thread) behind every demuxer (Ogg, WAV, MP4), where a room that plays to
 * a live mixer needs one thread from the file to the mixer, which the
 * mixer's pad already paces. parsebin finds the demuxer and parser, and the
 * best-ranked decoder for what it exposes is plugged here.
 */
#include "pipelines/rc_track_bin.h"
#include "pipelines/rc_growing_file.h"

struct _RcTrackBin
{
  GstBin parent;
};

G_DEFINE_FINAL_TYPE (RcTrackBin, rc_track_bin, GST_TYPE_BIN)

static void
rc_track_bin_handle_message (GstBin *bin, GstMessage *message)
{
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *debug = NULL;
      GstStructure *s;

      gst_message_parse_error (message, &error, &debug);
      s = gst_structure_new (RC_TRACK_BIN_ERROR, "error", G_TYPE_ERROR, error, "debug",
                             G_TYPE_STRING, debug, NULL);
      gst_message_unref (message);
      message = gst_message_new_element (GST_OBJECT (bin), s);
    }
  GST_BIN_CLASS (rc_track_bin_parent_class)->handle_message (bin, message);
}

static void
rc_track_bin_class_init (RcTrackBinClass *klass)
{
  GST_BIN_CLASS (klass)->handle_message = rc_track_bin_handle_message;
}

static void
rc_track_bin_init (RcTrackBin *self)
{
}

GstElement *
rc_track_bin_new (const char *name)
{
  return g_object_new (RC_TYPE_TRACK_BIN, "name", name, NULL);
}

/* The first audio pad of a decoder or a parsebin: linked to the track's
 * converter. Streaming thread. */
static gboolean
is_audio (GstPad *pad, GstCaps **caps_out)
{
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (pad);

  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  if (caps == NULL || gst_caps_is_empty (caps) || gst_caps_is_any (caps)
      || !g_str_has_prefix (gst_structure_get_name (gst_caps_get_structure (caps, 0)), "audio/"))
    return FALSE;
  if (caps_out != NULL)
    *caps_out = g_steal_pointer (&caps);
  return TRUE;
}

static void
on_decoded_pad (GstElement *decoder, GstPad *pad, gpointer data)
{
  GstElement *sink = data;
  g_autoptr (GstPad) sink_pad = gst_element_get_static_pad (sink, "sink");

  if (!is_audio (pad, NULL) || gst_pad_is_linked (sink_pad))
    return; /* video or a second audio stream: not ours */
  gst_pad_link (pad, sink_pad);
}

/* Plugs the best-ranked decoder of @caps between @pad and @sink; FALSE if
 * none takes it. Streaming thread: the bin's state is its own (locked), so
 * the decoder follows it; a bin being taken down meanwhile sets whatever it
 * holds to NULL after this returns (the demuxer's thread stops first). */
static gboolean
plug_decoder (GstBin *bin, GstPad *pad, GstCaps *caps, GstElement *sink)
{
  GList *all = gst_element_factory_list_get_elements (GST_ELEMENT_FACTORY_TYPE_DECODER
                                                        | GST_ELEMENT_FACTORY_TYPE_MEDIA_AUDIO,
                                                      GST_RANK_MARGINAL);
  GList *fit = gst_element_factory_list_filter (all, caps, GST_PAD_SINK, FALSE);
  gboolean done = FALSE;

  fit = g_list_sort (fit, gst_plugin_feature_rank_compare_func);
  for (GList *l = fit; l != NULL && !done; l = l->next)
    {
      GstElement *decoder = gst_element_factory_create (l->data, NULL);
      g_autoptr (GstPad) decoder_sink = NULL;

      if (decoder == NULL)
        continue;
      gst_bin_add (bin, decoder);
      decoder_sink = gst_element_get_static_pad (decoder, "sink");
      if (decoder_sink != NULL && gst_element_link (decoder, sink)
          && gst_element_sync_state_with_parent (decoder) != GST_STATE_CHANGE_FAILURE
          && gst_pad_link (pad, decoder_sink) == GST_PAD_LINK_OK)
        done = TRUE;
      else
        {
          gst_element_set_state (decoder, GST_STATE_NULL);
          gst_bin_remove (bin, decoder);
        }
    }
  gst_plugin_feature_list_free (fit);
  gst_plugin_feature_list_free (all);
  return done;
}

static void
on_parsed_pad (GstElement *parsebin, GstPad *pad, gpointer data)
{
  GstElement *sink = data;
  g_autoptr (GstPad) sink_pad = gst_element_get_static_pad (sink, "sink");
  g_autoptr (GstCaps) caps = NULL;
  g_autoptr (GstObject) bin = gst_object_get_parent (GST_OBJECT (parsebin));

  if (!is_audio (pad, &caps) || gst_pad_is_linked (sink_pad) || bin == NULL)
    return; /* video or a second audio stream: not ours */
  if (gst_structure_has_name (gst_caps_get_structure (caps, 0), "audio/x-raw"))
    gst_pad_link (pad, sink_pad); /* WAV: nothing to decode */
  else if (!plug_decoder (GST_BIN (bin), pad, caps, sink))
    {
      g_autofree char *what = gst_caps_to_string (caps);
      GError *error = g_error_new (GST_STREAM_ERROR, GST_STREAM_ERROR_CODEC_NOT_FOUND,
                                   "No decoder for %s", what);

      gst_element_post_message (parsebin,
                                gst_message_new_error (GST_OBJECT (parsebin), error, NULL));
      g_error_free (error);
    }
}

/* filesrc (or, for a file still being downloaded, RcGrowingSrc) ─ parsebin,
 * or FALSE (then uridecodebin reports what is wrong). */
static gboolean
add_file_decoder (GstElement *bin, const char *uri, GstElement *sink)
{
  g_autoptr (GstElement) source = NULL;
  g_autoptr (GstElement) parse = NULL;
  g_autofree char *path = NULL;

  if (!gst_uri_has_protocol (uri, "file"))
    return FALSE;
  path = g_filename_from_uri (uri, NULL, NULL);
  source = path != NULL ? rc_growing_src_new (path) : NULL;
  if (source == NULL)
    source = gst_element_make_from_uri (GST_URI_SRC, uri, NULL, NULL);
  parse = gst_element_factory_make ("parsebin", NULL);
  if (source != NULL)
    gst_object_ref_sink (source);
  if (parse != NULL)
    gst_object_ref_sink (parse);
  if (source == NULL || parse == NULL)
    return FALSE;
  gst_bin_add_many (GST_BIN (bin), source, parse, NULL);
  if (!gst_element_link (source, parse))
    {
      gst_bin_remove_many (GST_BIN (bin), source, parse, NULL);
      return FALSE;
    }
  g_signal_connect_object (parse, "pad-added", G_CALLBACK (on_parsed_pad), sink, 0);
  return TRUE;
}

gboolean
rc_track_bin_add_decoder (GstElement *bin, const char *uri, GstElement *sink)
{
  GstElement *decoder;

  if (add_file_decoder (bin, uri, sink))
    return TRUE;
  decoder = gst_element_factory_make ("uridecodebin", NULL);
  if (decoder == NULL)
    return FALSE;
  g_object_set (decoder, "uri", uri, NULL);
  gst_bin_add (GST_BIN (bin), decoder);
  g_signal_connect_object (decoder, "pad-added", G_CALLBACK (on_decoded_pad), sink, 0);
  return TRUE;
}

/* A typefinder that found the type in pull mode and whose downstream now
 * pulls through it pauses its task (it may not stop it from the streaming
 * thread that activates it): the task's thread then waits until the
 * element stops. Stopped here, it goes back to GStreamer's pool. Only
 * then: a typefinder whose downstream does not pull pushes the file from
 * that task. */
static void
end_typefind_task (const GValue *item, gpointer user_data)
{
  GstElement *element = g_value_get_object (item);
  GstElementFactory *factory = gst_element_get_factory (element);
  g_autoptr (GstPad) sink = NULL;
  g_autoptr (GstPad) src = NULL;

  if (factory == NULL || g_strcmp0 (GST_OBJECT_NAME (factory), "typefind") != 0)
    return;
  sink = gst_element_get_static_pad (element, "sink");
  src = gst_element_get_static_pad (element, "src");
  if (sink != NULL && src != NULL && GST_PAD_MODE (src) == GST_PAD_MODE_PULL
      && GST_PAD_MODE (sink) == GST_PAD_MODE_PULL)
    gst_pad_stop_task (sink);
}

void
rc_track_bin_end_idle_threads (GstElement *bin)
{
  g_autoptr (GstIterator) it = gst_bin_iterate_recurse (GST_BIN (bin));

  while (gst_iterator_foreach (it, end_typefind_task, NULL) == GST_ITERATOR_RESYNC)
    gst_iterator_resync (it);
}
