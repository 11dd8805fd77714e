/* SPDX-License-Identifier: MIT */
/*
 * Options: one table feeds --help, ROOMCAST_* variables and the config file,
 * and the commented sample config lists every option with a valid value.
 */
#include "server/rc_config.h"
#include "server/core/rc_error.h"
#include "rc_test_server.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static void
test_help_lists_every_option (void)
{
  const char *args[] = { "--help", NULL };
  g_autofree char *output = NULL;
  int status = rc_test_run_roomcast (args, NULL, &output);

  g_assert_cmpint (status, ==, 0);
  for (const RcOption *o = rc_config_options (); o->long_name; o++)
    {
      g_autofree char *flag = g_strdup_printf ("--%s", o->long_name);
      g_assert_nonnull (strstr (output, flag));
      g_assert_nonnull (strstr (output, o->env_name));
    }
}

static char *
read_sample (void)
{
  const char *path = g_getenv ("ROOMCAST_SAMPLE_CONFIG");
  g_autoptr (GError) error = NULL;
  char *contents = NULL;

  g_assert_nonnull (path);
  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

static void
test_sample_config_complete_and_valid (void)
{
  g_autofree char *sample = read_sample ();
  g_autofree char *uncommented_path = NULL;
  g_autoptr (GString) uncommented = g_string_new (NULL);
  g_auto (GStrv) lines = g_strsplit (sample, "\n", -1);
  g_autoptr (RcConfig) config = rc_config_new ();
  g_autoptr (GError) error = NULL;
  int fd;

  for (const RcOption *o = rc_config_options (); o->long_name; o++)
    {
      g_autofree char *setting = g_strdup_printf ("# %s=", o->env_name);

      if (g_str_equal (o->long_name, "config"))
        continue; /* the file does not name itself */
      if (strstr (sample, setting) == NULL)
        g_error ("docs/roomcast.conf.sample lacks a line \"%s...\"", setting);
    }

  /* Every sample value, uncommented, must load. */
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "# ROOMCAST_"))
      g_string_append_printf (uncommented, "%s\n", lines[i] + 2);
  fd = g_file_open_tmp ("roomcast-XXXXXX.conf", &uncommented_path, &error);
  g_assert_no_error (error);
  close (fd);
  g_file_set_contents (uncommented_path, uncommented->str, -1, &error);
  g_assert_no_error (error);
  g_assert_true (rc_config_load_file (config, uncommented_path, &error));
  g_assert_no_error (error);
  g_unlink (uncommented_path);
}

static void
test_precedence (void)
{
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (RcConfig) config = NULL;
  char *argv_data[] = { "roomcast", "--config", NULL, "--max-guests", "7", NULL };
  char **argv = argv_data;
  int argc = 5;
  int fd = g_file_open_tmp ("roomcast-XXXXXX.conf", &path, &error);

  g_assert_no_error (error);
  close (fd);
  g_file_set_contents (path,
                       "# a comment\nROOMCAST_MAX_GUESTS=3\nROOMCAST_MAX_ROOMS=\"9\"\n"
                       "ROOMCAST_HOST=10.1.2.3\n",
                       -1, &error);
  g_assert_no_error (error);
  argv_data[2] = path;
  g_setenv ("ROOMCAST_HOST", "127.0.0.2", TRUE);
  g_setenv ("ROOMCAST_MAX_ROOMS", "11", TRUE);

  config = rc_config_parse (&argc, &argv, &error);
  g_assert_no_error (error);
  g_assert_cmpint (config->max_guests, ==, 7);     /* flag beats file */
  g_assert_cmpint (config->max_rooms, ==, 11);     /* env beats file */
  g_assert_cmpstr (config->host, ==, "127.0.0.2"); /* env beats file */
  g_assert_cmpint (config->port, ==, 8080);        /* default */
  g_assert_cmpstr (config->store, ==, "memory");
  g_unsetenv ("ROOMCAST_HOST");
  g_unsetenv ("ROOMCAST_MAX_ROOMS");
  g_unlink (path);
}

static void
test_bad_values (void)
{
  g_autoptr (RcConfig) config = rc_config_new ();
  const char *bad[][2] = {
    { "port", "70000" }, { "port", "-1" }, { "port", "80x" }, { "max-guests", "0" },
    { "max-guests", "2.5" }, { "rate-limit", "fast" }, { "nope", "1" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (rc_config_set (config, bad[i][0], bad[i][1], &error));
      g_assert_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM);
    }
  g_assert_cmpint (config->port, ==, 8080);
}

static void
test_bad_flag_exits_with_message (void)
{
  const char *args[] = { "--port", "99999", NULL };
  const char *env_args[] = { NULL };
  const char *env[] = { "ROOMCAST_MAX_GUESTS=none", NULL };
  g_autofree char *output = NULL;
  g_autofree char *env_output = NULL;

  g_assert_cmpint (rc_test_run_roomcast (args, NULL, &output), ==, 2);
  g_assert_nonnull (strstr (output, "--port"));
  g_assert_cmpint (rc_test_run_roomcast (env_args, env, &env_output), ==, 2);
  g_assert_nonnull (strstr (env_output, "ROOMCAST_MAX_GUESTS"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/help", test_help_lists_every_option);
  g_test_add_func ("/config/sample", test_sample_config_complete_and_valid);
  g_test_add_func ("/config/precedence", test_precedence);
  g_test_add_func ("/config/bad-values", test_bad_values);
  g_test_add_func ("/config/bad-flag", test_bad_flag_exits_with_message);
  return g_test_run ();
}
