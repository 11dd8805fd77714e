/* SPDX-License-Identifier: MIT */
#pragma once

#include "server/core/rc_metrics.h"
#include "server/http/rc_server.h"

G_BEGIN_DECLS

/* Brings the gauges read on demand up to date (rooms, guests by transport,
 * live hosts, the store, the process) and returns the server's metrics
 * (NULL when it counts none). For /metrics and the status samples. */
RcMetrics *rc_metrics_route_update (RcServer *server);

G_END_DECLS
