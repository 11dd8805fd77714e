/* SPDX-License-Identifier: MIT */
/*
 * Reading what older builds stored: json-glib's own number spellings are
 * repaired to JSON (and nothing else is touched, strings least of all), and
 * the typed readers give defaults, naming each bad field once.
 */
#include "server/core/rc_json.h"

static void
check_repair (const char *in, const char *expected)
{
  g_autofree char *out = rc_json_repair_numbers (in);

  g_assert_cmpstr (out, ==, expected);
}

static void
test_repair (void)
{
  check_repair ("{\"duckDb\":-1e-300.0}", "{\"duckDb\":-1e-300}");
  check_repair ("[1e+308.0,2E-5.0,1e400.0]", "[1e+308,2E-5,1e400]");
  check_repair ("{\"a\":inf.0,\"b\":-inf.0,\"c\":nan.0,\"d\":-nan.0}",
                "{\"a\":null,\"b\":null,\"c\":null,\"d\":null}");
  check_repair ("[ inf.0 , 1e-300.0 ]", "[ null , 1e-300 ]");
  /* Valid JSON comes back as it was. */
  check_repair ("{\"x\":1.5e-300,\"y\":-12.0,\"z\":3,\"t\":true,\"f\":false,\"n\":null}",
                "{\"x\":1.5e-300,\"y\":-12.0,\"z\":3,\"t\":true,\"f\":false,\"n\":null}");
  check_repair ("", "");
  /* Strings, escaped quotes included, are never rewritten. */
  check_repair ("{\"inf.0\":\"1e5.0 inf.0\",\"q\":\"a\\\"inf.0\\\\\",\"r\":inf.0}",
                "{\"inf.0\":\"1e5.0 inf.0\",\"q\":\"a\\\"inf.0\\\\\",\"r\":null}");
  check_repair ("\"unterminated inf.0", "\"unterminated inf.0");
}

static void
test_parse_stored (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = rc_json_parse_stored ("{\"d\":-1e-300.0,\"i\":inf.0}", &error);
  JsonObject *o;

  g_assert_no_error (error);
  o = json_node_get_object (node);
  g_assert_cmpfloat (json_object_get_double_member (o, "d"), ==, -1e-300);
  g_assert_true (json_object_get_null_member (o, "i"));
  g_assert_null (rc_json_parse_stored ("{\"d\":", &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_null (rc_json_parse_stored ("", &error));
  g_assert_nonnull (error);
}

static void
test_readers (void)
{
  g_autoptr (GPtrArray) bad = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (JsonNode) node = rc_json_parse_stored (
    "{\"i\":5,\"iBig\":100,\"iStr\":\"5\",\"iNull\":null,\"iDouble\":7.0,\"iHuge\":1e300,"
    "\"n\":-12.5,\"nInf\":inf.0,\"nLow\":-99,\"nBool\":true,"
    "\"b\":true,\"bNum\":1,\"s\":\"x\",\"sNull\":null,\"sNum\":3,"
    "\"o\":{},\"oArr\":[],\"a\":[1],\"aObj\":{}}",
    NULL);
  JsonObject *o = json_node_get_object (node);

  g_assert_cmpint (rc_json_read_int (o, "i", 0, 10, -1, bad), ==, 5);
  g_assert_cmpint (rc_json_read_int (o, "absent", 0, 10, -1, bad), ==, -1);
  g_assert_cmpint (rc_json_read_int (o, "iBig", 0, 10, -1, bad), ==, -1);
  g_assert_cmpint (rc_json_read_int (o, "iStr", 0, 10, -1, bad), ==, -1);
  g_assert_cmpint (rc_json_read_int (o, "iNull", 0, 10, -1, bad), ==, -1);
  g_assert_cmpint (rc_json_read_int (o, "iDouble", 0, 10, -1, bad), ==, 7);
  g_assert_cmpint (rc_json_read_int (o, "iHuge", 0, G_MAXINT64, -1, bad), ==, -1);
  g_assert_cmpfloat (rc_json_read_number (o, "n", -60, 0, -1, bad), ==, -12.5);
  g_assert_cmpfloat (rc_json_read_number (o, "nInf", -60, 0, -1, bad), ==, -1);
  g_assert_cmpfloat (rc_json_read_number (o, "nLow", -60, 0, -1, bad), ==, -1);
  g_assert_cmpfloat (rc_json_read_number (o, "nBool", -60, 0, -1, bad), ==, -1);
  g_assert_true (rc_json_read_boolean (o, "b", FALSE, bad));
  g_assert_false (rc_json_read_boolean (o, "bNum", FALSE, bad));
  g_assert_cmpstr (rc_json_read_string (o, "s", bad), ==, "x");
  g_assert_null (rc_json_read_string (o, "sNull", bad)); /* null: absent, quietly */
  g_assert_null (rc_json_read_string (o, "sNum", bad));
  g_assert_nonnull (rc_json_read_object (o, "o", bad));
  g_assert_null (rc_json_read_object (o, "oArr", bad));
  g_assert_nonnull (rc_json_read_array (o, "a", bad));
  g_assert_null (rc_json_read_array (o, "aObj", bad));
  /* Read twice, named once. */
  rc_json_read_int (o, "iStr", 0, 10, -1, bad);

  {
    const char *expected[] = { "iBig", "iStr", "iNull", "iHuge", "nInf", "nLow",
                               "nBool", "bNum", "sNum", "oArr", "aObj" };

    g_assert_cmpuint (bad->len, ==, G_N_ELEMENTS (expected));
    for (guint i = 0; i < bad->len; i++)
      g_assert_cmpstr (bad->pdata[i], ==, expected[i]);
  }
  {
    g_autoptr (GPtrArray) outer = g_ptr_array_new_with_free_func (g_free);

    rc_json_note_bad (outer, "mix.iStr");
    rc_json_note_bad_all (outer, "mix.", bad);
    g_assert_cmpuint (outer->len, ==, bad->len);
    g_assert_cmpstr (outer->pdata[0], ==, "mix.iStr");
    g_assert_cmpstr (outer->pdata[1], ==, "mix.iBig");
  }
}

/* A reply is the message with the request's id written last, in place of
 * an id of its own, and the message itself is left as it was (a broadcast
 * or stored chat is shared). */
static void
test_with_id (void)
{
  JsonObject *o;
  g_autoptr (JsonNode) message = rc_json_message_new ("chat", &o);
  g_autoptr (JsonNode) number = json_node_new (JSON_NODE_VALUE);
  g_autoptr (JsonNode) text = json_node_new (JSON_NODE_VALUE);
  g_autoptr (JsonNode) empty = rc_json_message_new (NULL, NULL);
  g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;

  json_object_set_string_member (o, "text", "hi \"there\"");
  json_node_set_int (number, 7);
  json_node_set_string (text, "r-1");
  a = rc_json_to_string_with_id (message, number);
  g_assert_cmpstr (a, ==, "{\"type\":\"chat\",\"text\":\"hi \\\"there\\\"\",\"id\":7}");
  json_object_set_string_member (o, "id", "its own");
  b = rc_json_to_string_with_id (message, text);
  g_assert_cmpstr (b, ==, "{\"type\":\"chat\",\"text\":\"hi \\\"there\\\"\",\"id\":\"r-1\"}");
  /* Untouched, and without an id it is the message as it is. */
  c = rc_json_to_string (message);
  d = rc_json_to_string_with_id (message, NULL);
  g_assert_cmpstr (c, ==, d);
  g_assert_cmpstr (json_object_get_string_member (o, "id"), ==, "its own");
  e = rc_json_to_string_with_id (empty, number);
  g_assert_cmpstr (e, ==, "{\"id\":7}");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json/repair-numbers", test_repair);
  g_test_add_func ("/json/parse-stored", test_parse_stored);
  g_test_add_func ("/json/readers", test_readers);
  g_test_add_func ("/json/with-id", test_with_id);
  return g_test_run ();
}
