/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the config file (rc_config_load_data, what
 * rc_config_load_file reads): KEY=VALUE lines, comments, quotes, every
 * option's type and bounds. A refusal comes with an error message.
 */
#include "server/rc_config.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr (GError) error = NULL;
  RcConfig *config = rc_config_new ();

  if (!rc_config_load_data (config, text, "fuzz.conf", &error))
    g_assert (error != NULL && error->message != NULL);
  rc_config_free (config);
  return 0;
}
