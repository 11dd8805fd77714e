/* SPDX-License-Identifier: MIT */
/*
 * What every webrtcbin of the project needs the same way. Why:
 *
 * - libnice leaves loopback addresses out when it picks its own, so a
 *   machine with only 127.0.0.1 (and tests that must stay on it) would get
 *   no candidate at all. Naming addresses turns its own choice off, so all
 *   the usable ones are named: every address of every interface that is
 *   up, IPv6 link-local ones excepted (they need a scope).
 * - UPnP port mapping is on by default in libnice: pointless for host
 *   candidates, slow, and noisy where there is no router. ICE-TCP doubles
 *   the candidates for no gain with browsers, which use UDP.
 */
#define GST_USE_UNSTABLE_API
#include "pipelines/rc_webrtc_util.h"

#include <arpa/inet.h>
#include <gst/webrtc/webrtc.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

static void
add_address (GstWebRTCICE *ice, const char *address)
{
  gboolean added = FALSE;

  g_signal_emit_by_name (ice, "add-local-ip-address", address, &added);
  if (!added)
    g_message ("ICE: cannot gather on %s", address);
}

static void
add_local_addresses (GstWebRTCICE *ice)
{
  struct ifaddrs *list = NULL;

  if (getifaddrs (&list) != 0)
    {
      g_message ("ICE: cannot list local addresses; libnice picks them");
      return;
    }
  for (struct ifaddrs *i = list; i != NULL; i = i->ifa_next)
    {
      char text[INET6_ADDRSTRLEN];

      if (i->ifa_addr == NULL || !(i->ifa_flags & IFF_UP))
        continue;
      if (i->ifa_addr->sa_family == AF_INET)
        inet_ntop (AF_INET, &((struct sockaddr_in *) i->ifa_addr)->sin_addr, text, sizeof text);
      else if (i->ifa_addr->sa_family == AF_INET6
               && !IN6_IS_ADDR_LINKLOCAL (&((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr))
        inet_ntop (AF_INET6, &((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr, text, sizeof text);
      else
        continue;
      add_address (ice, text);
    }
  freeifaddrs (list);
}

void
rc_webrtc_setup_ice (GstElement *webrtcbin, gboolean loopback_only)
{
  g_autoptr (GstWebRTCICE) ice = NULL;
  g_autoptr (GObject) agent = NULL;

  g_object_get (webrtcbin, "ice-agent", &ice, NULL);
  if (ice == NULL)
    return;
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "ice-tcp") != NULL)
    g_object_set (ice, "ice-tcp", FALSE, NULL);
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "agent") != NULL)
    g_object_get (ice, "agent", &agent, NULL);
  if (agent != NULL && g_object_class_find_property (G_OBJECT_GET_CLASS (agent), "upnp") != NULL)
    g_object_set (agent, "upnp", FALSE, NULL);
  if (loopback_only)
    add_address (ice, "127.0.0.1");
  else
    add_local_addresses (ice);
}

char *
rc_webrtc_promise_error (GstPromise *promise, const char *what)
{
  const GstStructure *reply;
  g_autoptr (GError) error = NULL;

  if (gst_promise_wait (promise) != GST_PROMISE_RESULT_REPLIED)
    return g_strdup_printf ("%s: no reply from webrtcbin", what);
  reply = gst_promise_get_reply (promise);
  if (reply != NULL && gst_structure_has_field (reply, "error"))
    {
      gst_structure_get (reply, "error", G_TYPE_ERROR, &error, NULL);
      return g_strdup_printf ("%s: %s", what, error != NULL ? error->message : "failed");
    }
  return NULL;
}

/* ---- events for the main context ------------------------------------------ */

typedef struct
{
  const RcWebrtcEvents *events; /* its owner held */
  RcWebrtcEvent event;
} Queued;

static void
queued_free (gpointer data)
{
  Queued *q = data;

  g_free (q->event.text);
  g_clear_pointer (&q->event.sdp, gst_webrtc_session_description_free);
  q->events->unref (q->events->owner);
  g_free (q);
}

static gboolean
queued_dispatch (gpointer data)
{
  Queued *q = data;

  q->events->dispatch (q->events->owner, &q->event);
  return G_SOURCE_REMOVE;
}

void
rc_webrtc_post (const RcWebrtcEvents *events, int kind, guint number, char *text,
                GstWebRTCSessionDescription *sdp)
{
  Queued *q = g_new0 (Queued, 1);
  g_autoptr (GSource) source = g_idle_source_new ();

  events->ref (events->owner);
  q->events = events;
  q->event.kind = kind;
  q->event.number = number;
  q->event.text = text;
  q->event.sdp = sdp;
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, queued_dispatch, q, queued_free);
  g_source_attach (source, events->context);
}

static void
on_candidate (GstElement *webrtc, guint mline, const char *candidate, gpointer data)
{
  if (candidate != NULL && *candidate != '\0')
    rc_webrtc_post (data, RC_WEBRTC_EV_CANDIDATE, mline, g_strdup (candidate), NULL);
}

/* notify::<state>: the state's new value as an event of @kind. */
static void
post_state (GObject *webrtc, const char *property, RcWebrtcEventKind kind, gpointer data)
{
  gint state = 0;

  g_object_get (webrtc, property, &state, NULL);
  rc_webrtc_post (data, kind, (guint) state, NULL, NULL);
}

static void
on_gathering_state (GObject *webrtc, GParamSpec *pspec, gpointer data)
{
  post_state (webrtc, "ice-gathering-state", RC_WEBRTC_EV_GATHERING_STATE, data);
}

static void
on_connection_state (GObject *webrtc, GParamSpec *pspec, gpointer data)
{
  post_state (webrtc, "connection-state", RC_WEBRTC_EV_CONNECTION_STATE, data);
}

static void
on_ice_state (GObject *webrtc, GParamSpec *pspec, gpointer data)
{
  post_state (webrtc, "ice-connection-state", RC_WEBRTC_EV_ICE_STATE, data);
}

static void
release_owner (gpointer data, GClosure *closure)
{
  const RcWebrtcEvents *events = data;

  events->unref (events->owner);
}

void
rc_webrtc_forward_signals (GstElement *webrtcbin, const RcWebrtcEvents *events)
{
  const struct
  {
    const char *signal;
    GCallback callback;
  } signals[] = {
    { "on-ice-candidate", G_CALLBACK (on_candidate) },
    { "notify::ice-gathering-state", G_CALLBACK (on_gathering_state) },
    { "notify::connection-state", G_CALLBACK (on_connection_state) },
    { "notify::ice-connection-state", G_CALLBACK (on_ice_state) },
  };

  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    {
      events->ref (events->owner);
      g_signal_connect_data (webrtcbin, signals[i].signal, signals[i].callback, (gpointer) events,
                             release_owner, 0);
    }
}

void
rc_webrtc_stop_forwarding (GstElement *webrtcbin, const RcWebrtcEvents *events)
{
  g_signal_handlers_disconnect_by_data (webrtcbin, (gpointer) events);
}
