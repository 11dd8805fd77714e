/* SPDX-License-Identifier: MIT */
/*
 * What every webrtcbin of the project needs the same way, below the
 * WebRTC peer (rc_webrtc_peer.c), which uses it, as do the tests' hosts. Why:
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
