/* SPDX-License-Identifier: MIT */
/* Chat and name hygiene: trimming, control characters, length, HTML kept as data. */
#include "server/core/rc_text.h"

static void
check (const char *in, gsize max, const char *expected)
{
  g_autofree char *out = rc_text_sanitize (in, max);

  g_assert_cmpstr (out, ==, expected);
}

static void
test_sanitize (void)
{
  check ("  hello  ", 500, "hello");
  check ("a\x01" "b\x7f" "c", 500, "abc");
  check ("line1\nline2\r\n", 500, "line1 line2");
  check ("tab\there", 500, "tab here");
  check ("zero\xe2\x80\x8bwidth", 500, "zerowidth");     /* U+200B is a format char */
  check ("rtl\xe2\x80\xaeoverride", 500, "rtloverride"); /* U+202E */
  check ("\x1b[31mred", 500, "[31mred");
  check ("<img src=x onerror=alert(1)>", 500, "<img src=x onerror=alert(1)>");
  check ("", 500, "");
  check ("   \n\t  ", 500, "");
  check ("bad\xff" "utf8", 500, "bad\xef\xbf\xbdutf8");
  check ("héllo wörld", 5, "héllo");
  check ("ab   cd", 3, "ab"); /* cut, then the trailing space trimmed */
}

static void
test_length_cap (void)
{
  g_autoptr (GString) in = g_string_new (NULL);
  g_autofree char *out = NULL;

  for (int i = 0; i < 600; i++)
    g_string_append (in, "é");
  out = rc_text_sanitize (in->str, 500);
  g_assert_cmpint (g_utf8_strlen (out, -1), ==, 500);
  g_assert_true (g_utf8_validate (out, -1, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/text/sanitize", test_sanitize);
  g_test_add_func ("/text/length-cap", test_length_cap);
  return g_test_run ();
}
