/* SPDX-License-Identifier: MIT */
/*
 * RcStore contract tests. The same test functions run against the memory
 * backend and against a real redis-server started per test, so both
 * backends are held to one behaviour (the memory backend is the reference).
 * The Redis-only tests kill, pause and restart the server to prove the
 * outage rules: writes buffered and replayed in order, reads failing fast.
 */
#include "server/store/rc_store.h"
#include "server/store/rc_store-private.h"
#include "server/core/rc_error.h"
#include "rc_test_redis.h"
#include "rc_test_util.h"

#include <gio/gio.h>
#include <string.h>

#define WAIT_UNTIL(cond, timeout_ms)                                                          \
  G_STMT_START                                                                                \
  {                                                                                           \
    if (!RC_WAIT_UNTIL (cond, timeout_ms))                                                    \
      g_error ("%s:%d: timed out after %d ms waiting for: %s", __FILE__, __LINE__,            \
               (int) (timeout_ms), #cond);                                                    \
  }                                                                                           \
  G_STMT_END

#define REPLY_TIMEOUT_MS 5000
#define RECONNECT_TIMEOUT_MS 15000
/* Mirrors MAX_BUFFERED_WRITES in rc_store_redis.c. */
#define REDIS_MAX_BUFFERED 100000

typedef enum
{
  BACKEND_MEMORY,
  BACKEND_REDIS,
} Backend;

typedef struct
{
  Backend backend;
  RcTestRedis *redis;
  RcStore *store;
} Fixture;

/* ---- fixture ----------------------------------------------------------- */

static RcStore *
open_store (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  RcStore *store;

  if (f->backend == BACKEND_MEMORY)
    store = rc_store_new ("memory", 0, &error);
  else
    store = rc_store_new (rc_test_redis_get_uri (f->redis), 2000, &error);
  g_assert_no_error (error);
  g_assert_nonnull (store);
  return store;
}

/* Runs whatever is ready (reply idles hold store references). */
static void
drain (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->backend = GPOINTER_TO_INT (data);
  if (f->backend == BACKEND_REDIS)
    {
      g_autoptr (GError) error = NULL;

      f->redis = rc_test_redis_start (&error);
      g_assert_no_error (error);
    }
  f->store = open_store (f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  drain ();
  if (f->store != NULL)
    {
      /* Every finished read must have given its reference back. */
      g_assert_cmpint (f->store->ref_count, ==, 1);
      g_clear_pointer (&f->store, rc_store_unref);
    }
  drain ();
  g_clear_pointer (&f->redis, rc_test_redis_stop);
}

/* ---- reading synchronously, for assertions ------------------------------ */

typedef struct
{
  gboolean done;
  char *string;
  GPtrArray *list;
  GError *error;
} Result;

static void
result_clear (Result *r)
{
  g_free (r->string);
  g_clear_pointer (&r->list, g_ptr_array_unref);
  g_clear_error (&r->error);
  memset (r, 0, sizeof *r);
}

static void
on_string (RcStore *store, const char *value, const GError *error, gpointer user_data)
{
  Result *r = user_data;

  g_assert_false (r->done);
  r->done = TRUE;
  r->string = g_strdup (value);
  r->error = error ? g_error_copy (error) : NULL;
}

static void
on_list (RcStore *store, GPtrArray *values, const GError *error, gpointer user_data)
{
  Result *r = user_data;

  g_assert_false (r->done);
  r->done = TRUE;
  r->error = error ? g_error_copy (error) : NULL;
  if (error == NULL)
    {
      g_assert_nonnull (values);
      r->list = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < values->len; i++)
        g_ptr_array_add (r->list, g_strdup (values->pdata[i]));
    }
}

static void
on_sync (RcStore *store, const GError *error, gpointer user_data)
{
  Result *r = user_data;

  g_assert_false (r->done);
  r->done = TRUE;
  r->error = error ? g_error_copy (error) : NULL;
}

/* Called right after issuing a read: the callback must not have run yet. */
static void
wait_result (Result *r)
{
  g_assert_false (r->done);
  WAIT_UNTIL (r->done, REPLY_TIMEOUT_MS);
}

static char *
get_value (RcStore *store, const char *key)
{
  Result r = { 0 };
  char *value;

  rc_store_get (store, key, on_string, &r);
  wait_result (&r);
  g_assert_no_error (r.error);
  value = g_steal_pointer (&r.string);
  result_clear (&r);
  return value;
}

static GPtrArray *
steal_list (Result *r)
{
  GPtrArray *list;

  g_assert_no_error (r->error);
  g_assert_nonnull (r->list);
  list = g_steal_pointer (&r->list);
  result_clear (r);
  return list;
}

static GPtrArray *
get_range (RcStore *store, const char *key, gint64 start, gint64 stop)
{
  Result r = { 0 };

  rc_store_list_range (store, key, start, stop, on_list, &r);
  wait_result (&r);
  return steal_list (&r);
}

static GPtrArray *
get_members (RcStore *store, const char *key)
{
  Result r = { 0 };

  rc_store_set_members (store, key, on_list, &r);
  wait_result (&r);
  return steal_list (&r);
}

static GPtrArray *
get_zrange (RcStore *store, const char *key, gint64 start, gint64 stop)
{
  Result r = { 0 };

  rc_store_zset_range_rev (store, key, start, stop, on_list, &r);
  wait_result (&r);
  return steal_list (&r);
}

static void
sync_store (RcStore *store)
{
  Result r = { 0 };

  rc_store_sync (store, on_sync, &r);
  wait_result (&r);
  g_assert_no_error (r.error);
}

static char *
join_list (GPtrArray *list)
{
  GString *s = g_string_new ("[");

  for (guint i = 0; i < list->len; i++)
    g_string_append_printf (s, "%s\"%s\"", i ? ", " : "", (const char *) list->pdata[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* Compares @got with the NULL-terminated expected strings. */
static void
assert_list (GPtrArray *got, ...)
{
  g_autoptr (GPtrArray) want = g_ptr_array_new ();
  g_autofree char *got_str = join_list (got);
  g_autofree char *want_str = NULL;
  const char *s;
  va_list ap;

  va_start (ap, got);
  while ((s = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (want, (gpointer) s);
  va_end (ap);
  want_str = join_list (want);

  g_assert_cmpstr (got_str, ==, want_str);
  g_assert_cmpuint (got->len, ==, want->len);
  for (guint i = 0; i < got->len; i++)
    g_assert_cmpstr (got->pdata[i], ==, want->pdata[i]);
}

/* ---- tests for both backends -------------------------------------------- */

static void
test_strings (Fixture *f, gconstpointer data)
{
  g_autofree char *missing = get_value (f->store, "s:missing");
  g_autofree char *v1 = NULL;
  g_autofree char *v2 = NULL;
  g_autofree char *v3 = NULL;

  g_assert_null (missing);
  rc_store_set (f->store, "s:a", "one");
  v1 = get_value (f->store, "s:a");
  g_assert_cmpstr (v1, ==, "one");
  rc_store_set (f->store, "s:a", "two");
  v2 = get_value (f->store, "s:a");
  g_assert_cmpstr (v2, ==, "two");
  rc_store_del (f->store, "s:a");
  rc_store_del (f->store, "s:never-existed");
  v3 = get_value (f->store, "s:a");
  g_assert_null (v3);
}

static void
test_list_push_cap (Fixture *f, gconstpointer data)
{
  const char *letters[] = { "a", "b", "c", "d", "e" };
  g_autoptr (GPtrArray) capped = NULL;
  g_autoptr (GPtrArray) uncapped = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (letters); i++)
    {
      rc_store_list_push (f->store, "l:capped", letters[i], 3);
      rc_store_list_push (f->store, "l:uncapped", letters[i], 0);
    }
  capped = get_range (f->store, "l:capped", 0, -1);
  assert_list (capped, "c", "d", "e", NULL);
  uncapped = get_range (f->store, "l:uncapped", 0, -1);
  assert_list (uncapped, "a", "b", "c", "d", "e", NULL);
}

static void
test_list_range (Fixture *f, gconstpointer data)
{
  static const struct
  {
    gint64 start, stop;
    const char *want; /* space-separated */
  } cases[] = {
    { 0, -1, "0 1 2 3 4 5 6 7 8 9" },
    { -3, -1, "7 8 9" },
    { 2, 4, "2 3 4" },
    { -100, 1, "0 1" },
    { 8, 100, "8 9" },
    { -1, -1, "9" },
    { 0, 0, "0" },
    { 5, 2, "" },
    { 20, 30, "" },
    { -2, -5, "" },
  };
  g_autoptr (GPtrArray) missing = NULL;

  for (int i = 0; i < 10; i++)
    {
      char value[4];

      g_snprintf (value, sizeof value, "%d", i);
      rc_store_list_push (f->store, "l:ten", value, 0);
    }
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GPtrArray) got = get_range (f->store, "l:ten", cases[i].start, cases[i].stop);
      g_autofree char *joined = NULL;

      g_ptr_array_add (got, NULL);
      joined = g_strjoinv (" ", (char **) got->pdata);
      g_test_message ("LRANGE %" G_GINT64_FORMAT " %" G_GINT64_FORMAT, cases[i].start,
                      cases[i].stop);
      g_assert_cmpstr (joined, ==, cases[i].want);
    }
  missing = get_range (f->store, "l:missing", 0, -1);
  assert_list (missing, NULL);
}

static void
test_list_replace (Fixture *f, gconstpointer data)
{
  const char *const abc[] = { "a", "b", "c" };
  g_autoptr (GPtrArray) got = NULL;
  g_autoptr (GPtrArray) empty = NULL;
  g_autofree char *as_string = NULL;

  rc_store_list_push (f->store, "l:q", "x", 0);
  rc_store_list_push (f->store, "l:q", "y", 0);
  rc_store_list_replace (f->store, "l:q", abc, G_N_ELEMENTS (abc));
  got = get_range (f->store, "l:q", 0, -1);
  assert_list (got, "a", "b", "c", NULL);

  rc_store_list_replace (f->store, "l:q", NULL, 0);
  empty = get_range (f->store, "l:q", 0, -1);
  assert_list (empty, NULL);
  /* The key is gone, not an empty list: a GET (which Redis would refuse
   * with WRONGTYPE on a list) finds nothing. */
  as_string = get_value (f->store, "l:q");
  g_assert_null (as_string);
}

static void
test_sets (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) all = NULL;
  g_autoptr (GPtrArray) after_remove = NULL;
  g_autoptr (GPtrArray) bytewise = NULL;
  g_autoptr (GPtrArray) none = NULL;

  rc_store_set_add (f->store, "v:room", "bob");
  rc_store_set_add (f->store, "v:room", "alice");
  rc_store_set_add (f->store, "v:room", "carol");
  rc_store_set_add (f->store, "v:room", "alice");
  all = get_members (f->store, "v:room");
  assert_list (all, "alice", "bob", "carol", NULL);

  rc_store_set_remove (f->store, "v:room", "bob");
  rc_store_set_remove (f->store, "v:room", "nobody");
  rc_store_set_remove (f->store, "v:missing", "nobody");
  after_remove = get_members (f->store, "v:room");
  assert_list (after_remove, "alice", "carol", NULL);

  /* Byte order: uppercase before lowercase, UTF-8 after ASCII. */
  rc_store_set_add (f->store, "v:bytes", "z");
  rc_store_set_add (f->store, "v:bytes", "\xc3\xa9t\xc3\xa9");
  rc_store_set_add (f->store, "v:bytes", "Zed");
  rc_store_set_add (f->store, "v:bytes", "a b");
  bytewise = get_members (f->store, "v:bytes");
  assert_list (bytewise, "Zed", "a b", "z", "\xc3\xa9t\xc3\xa9", NULL);

  rc_store_set_remove (f->store, "v:room", "alice");
  rc_store_set_remove (f->store, "v:room", "carol");
  none = get_members (f->store, "v:room");
  assert_list (none, NULL);
}

static void
test_zsets (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) top = NULL;
  g_autoptr (GPtrArray) first = NULL;
  g_autoptr (GPtrArray) tail = NULL;
  g_autoptr (GPtrArray) updated = NULL;
  g_autoptr (GPtrArray) ties = NULL;
  g_autoptr (GPtrArray) missing = NULL;

  rc_store_zset_add (f->store, "h:user", 3, "song3", 3);
  rc_store_zset_add (f->store, "h:user", 1, "song1", 3);
  rc_store_zset_add (f->store, "h:user", 5, "song5", 3);
  rc_store_zset_add (f->store, "h:user", 2, "song2", 3);
  rc_store_zset_add (f->store, "h:user", 4.5, "song4", 3);
  top = get_zrange (f->store, "h:user", 0, -1);
  assert_list (top, "song5", "song4", "song3", NULL);
  first = get_zrange (f->store, "h:user", 0, 0);
  assert_list (first, "song5", NULL);
  tail = get_zrange (f->store, "h:user", -2, -1);
  assert_list (tail, "song4", "song3", NULL);

  /* Re-adding a member updates its score; it does not duplicate. */
  rc_store_zset_add (f->store, "h:user", 10, "song3", 3);
  updated = get_zrange (f->store, "h:user", 0, -1);
  assert_list (updated, "song3", "song5", "song4", NULL);

  /* Equal scores: reverse byte order, as ZREVRANGE gives. Large scores
   * (millisecond timestamps) keep their precision. */
  rc_store_zset_add (f->store, "h:ties", 1700000000123.0, "b", 0);
  rc_store_zset_add (f->store, "h:ties", 1700000000123.0, "a", 0);
  rc_store_zset_add (f->store, "h:ties", 1700000000124.0, "c", 0);
  rc_store_zset_add (f->store, "h:ties", -1.5, "neg", 0);
  ties = get_zrange (f->store, "h:ties", 0, -1);
  assert_list (ties, "c", "b", "a", "neg", NULL);

  missing = get_zrange (f->store, "h:missing", 0, -1);
  assert_list (missing, NULL);
}

static void
test_odd_values (Fixture *f, gconstpointer data)
{
  g_autofree char *big = g_strnfill (256 * 1024, 'x');
  const char *values[] = {
    "with spaces  and  more",
    "line one\nline two\r\nline three",
    "tab\there",
    "h\xc3\xa9llo \xf0\x9f\x8e\xb5 \xd0\xbc\xd0\xb8\xd1\x80",
    "$5\r\nfake\r\n*2\r\n",
    "\"quoted\" 'single' \\backslash %s %b %d",
    "",
    big,
  };

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autofree char *key = g_strdup_printf ("odd key %u\n\xc3\xa9", i);
      g_autofree char *got = NULL;
      g_autoptr (GPtrArray) list = NULL;
      g_autoptr (GPtrArray) members = NULL;
      g_autoptr (GPtrArray) zmembers = NULL;

      g_test_message ("value %u", i);
      rc_store_set (f->store, key, values[i]);
      got = get_value (f->store, key);
      g_assert_cmpstr (got, ==, values[i]);

      rc_store_list_push (f->store, "odd:list", values[i], 0);
      list = get_range (f->store, "odd:list", -1, -1);
      assert_list (list, values[i], NULL);

      rc_store_set_add (f->store, "odd:set", values[i]);
      rc_store_set_remove (f->store, "odd:set", values[G_N_ELEMENTS (values) - 1 - i]);
      rc_store_set_add (f->store, "odd:set", values[i]);
      members = get_members (f->store, "odd:set");
      g_assert_true (g_ptr_array_find_with_equal_func (members, values[i], g_str_equal, NULL));

      rc_store_zset_add (f->store, "odd:zset", 1000 + i, values[i], 0);
      zmembers = get_zrange (f->store, "odd:zset", 0, 0);
      assert_list (zmembers, values[i], NULL);
    }
}

static void
test_write_order (Fixture *f, gconstpointer data)
{
  g_autofree char *counter = NULL;
  g_autofree char *flip = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GPtrArray) set = NULL;

  for (int i = 1; i <= 500; i++)
    {
      char value[16];

      g_snprintf (value, sizeof value, "%d", i);
      rc_store_set (f->store, "o:counter", value);
    }
  rc_store_set (f->store, "o:flip", "first");
  rc_store_del (f->store, "o:flip");
  rc_store_set (f->store, "o:flip", "last");

  rc_store_list_push (f->store, "o:list", "gone", 0);
  rc_store_del (f->store, "o:list");
  rc_store_list_push (f->store, "o:list", "1", 0);
  rc_store_list_push (f->store, "o:list", "2", 0);

  rc_store_set_add (f->store, "o:set", "m");
  rc_store_set_remove (f->store, "o:set", "m");
  rc_store_set_add (f->store, "o:set", "n");

  /* One read after all of them sees every one applied. */
  counter = get_value (f->store, "o:counter");
  g_assert_cmpstr (counter, ==, "500");
  flip = get_value (f->store, "o:flip");
  g_assert_cmpstr (flip, ==, "last");
  list = get_range (f->store, "o:list", 0, -1);
  assert_list (list, "1", "2", NULL);
  set = get_members (f->store, "o:set");
  assert_list (set, "n", NULL);
}

typedef struct
{
  RcStore *store;
  Result outer;
  Result inner;
  gboolean inner_done_at_return;
} Nested;

static void
on_outer_get (RcStore *store, const char *value, const GError *error, gpointer user_data)
{
  Nested *n = user_data;

  on_string (store, value, error, &n->outer);
  /* A read issued from inside a callback is not answered inside it either. */
  rc_store_get (store, "a:key", on_string, &n->inner);
  n->inner_done_at_return = n->inner.done;
}

static void
test_reads_are_async (Fixture *f, gconstpointer data)
{
  Result get = { 0 }, range = { 0 }, members = { 0 }, zrange = { 0 }, sync = { 0 };
  Nested nested = { 0 };

  rc_store_set (f->store, "a:key", "v");
  rc_store_get (f->store, "a:key", on_string, &get);
  rc_store_list_range (f->store, "a:list", 0, -1, on_list, &range);
  rc_store_set_members (f->store, "a:set", on_list, &members);
  rc_store_zset_range_rev (f->store, "a:zset", 0, -1, on_list, &zrange);
  rc_store_sync (f->store, on_sync, &sync);
  g_assert_false (get.done || range.done || members.done || zrange.done || sync.done);
  WAIT_UNTIL (get.done && range.done && members.done && zrange.done && sync.done,
              REPLY_TIMEOUT_MS);
  g_assert_cmpstr (get.string, ==, "v");
  g_assert_no_error (range.error);
  g_assert_cmpuint (range.list->len, ==, 0);
  g_assert_no_error (sync.error);

  rc_store_get (f->store, "a:key", on_outer_get, &nested);
  g_assert_false (nested.outer.done);
  WAIT_UNTIL (nested.outer.done, REPLY_TIMEOUT_MS);
  g_assert_false (nested.inner_done_at_return);
  WAIT_UNTIL (nested.inner.done, REPLY_TIMEOUT_MS);
  g_assert_cmpstr (nested.inner.string, ==, "v");

  result_clear (&get);
  result_clear (&range);
  result_clear (&members);
  result_clear (&zrange);
  result_clear (&sync);
  result_clear (&nested.outer);
  result_clear (&nested.inner);
}

typedef struct
{
  GString *log;
  gboolean done;
} OrderLog;

static void
on_log_get (RcStore *store, const char *value, const GError *error, gpointer user_data)
{
  OrderLog *o = user_data;

  g_string_append_printf (o->log, "get=%s ", value ? value : "(null)");
}

static void
on_log_sync (RcStore *store, const GError *error, gpointer user_data)
{
  OrderLog *o = user_data;

  g_assert_no_error (error);
  g_string_append (o->log, "sync");
  o->done = TRUE;
}

static void
test_sync_barrier (Fixture *f, gconstpointer data)
{
  OrderLog o = { g_string_new (NULL), FALSE };
  g_autoptr (RcStore) other = NULL;
  g_autofree char *seen = NULL;
  g_autoptr (GPtrArray) list = NULL;

  rc_store_set (f->store, "b:key", "before");
  rc_store_get (f->store, "b:key", on_log_get, &o);
  rc_store_set (f->store, "b:key", "after");
  for (int i = 0; i < 100; i++)
    rc_store_list_push (f->store, "b:list", "x", 10);
  rc_store_sync (f->store, on_log_sync, &o);
  g_assert_false (o.done);
  WAIT_UNTIL (o.done, REPLY_TIMEOUT_MS);
  g_assert_cmpstr (o.log->str, ==, "get=before sync");
  g_assert_cmpuint (rc_store_get_pending_writes (f->store), ==, 0);

  /* After the barrier, another client sees every earlier write (for the
   * memory backend the only client is the store itself). */
  other = f->backend == BACKEND_REDIS ? open_store (f) : rc_store_ref (f->store);
  seen = get_value (other, "b:key");
  g_assert_cmpstr (seen, ==, "after");
  list = get_range (other, "b:list", 0, -1);
  g_assert_cmpuint (list->len, ==, 10);
  g_string_free (o.log, TRUE);
}

static void
test_unref_with_pending_read (Fixture *f, gconstpointer data)
{
  Result r = { 0 };

  /* A pending read keeps the store alive; its callback still runs. */
  rc_store_set (f->store, "u:key", "kept");
  rc_store_get (f->store, "u:key", on_string, &r);
  g_clear_pointer (&f->store, rc_store_unref);
  wait_result (&r);
  g_assert_no_error (r.error);
  g_assert_cmpstr (r.string, ==, "kept");
  result_clear (&r);
}

static void
test_status (Fixture *f, gconstpointer data)
{
  const char *name = f->backend == BACKEND_REDIS ? "redis" : "memory";

  g_assert_cmpstr (rc_store_get_backend_name (f->store), ==, name);
  g_assert_cmpint (rc_store_get_backend (f->store), ==,
                   f->backend == BACKEND_REDIS ? RC_STORE_BACKEND_REDIS
                                               : RC_STORE_BACKEND_MEMORY);
  g_assert_true (rc_store_is_connected (f->store));
  rc_store_set (f->store, "st:key", "v");
  sync_store (f->store);
  g_assert_true (rc_store_is_connected (f->store));
  g_assert_cmpuint (rc_store_get_pending_writes (f->store), ==, 0);
}

/* ---- Redis only ---------------------------------------------------------- */

static void
test_redis_survives_restart (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) again = NULL;
  g_autofree char *state = NULL;
  g_autoptr (GPtrArray) queue = NULL;
  g_autoptr (GPtrArray) viewers = NULL;
  g_autoptr (GPtrArray) history = NULL;

  rc_store_set (f->store, "room:1:state", "{\"playing\":true}");
  rc_store_list_push (f->store, "room:1:queue", "song-a", 0);
  rc_store_list_push (f->store, "room:1:queue", "song-b", 0);
  rc_store_set_add (f->store, "room:1:viewers", "guest-1");
  rc_store_zset_add (f->store, "user:1:history", 42, "song-a", 0);
  sync_store (f->store);
  g_clear_pointer (&f->store, rc_store_unref);
  drain ();

  g_assert_true (rc_test_redis_restart (f->redis, &error));
  g_assert_no_error (error);

  again = open_store (f);
  state = get_value (again, "room:1:state");
  g_assert_cmpstr (state, ==, "{\"playing\":true}");
  queue = get_range (again, "room:1:queue", 0, -1);
  assert_list (queue, "song-a", "song-b", NULL);
  viewers = get_members (again, "room:1:viewers");
  assert_list (viewers, "guest-1", NULL);
  history = get_zrange (again, "user:1:history", 0, -1);
  assert_list (history, "song-a", NULL);
}

static void
expect_loss_warning (Fixture *f)
{
  g_autofree char *pattern = g_strdup_printf ("Lost connection to Redis at 127.0.0.1:%u*",
                                              rc_test_redis_get_port (f->redis));

  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, pattern);
}

static void
test_redis_outage (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  Result r = { 0 };
  g_autofree char *before = NULL;
  g_autofree char *during = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GPtrArray) members = NULL;

  rc_store_set (f->store, "out:before", "kept");
  sync_store (f->store);

  expect_loss_warning (f);
  rc_test_redis_kill (f->redis);
  WAIT_UNTIL (!rc_store_is_connected (f->store), REPLY_TIMEOUT_MS);

  /* Writes are accepted and buffered. */
  rc_store_set (f->store, "out:during", "buffered");
  rc_store_list_push (f->store, "out:list", "1", 0);
  rc_store_list_push (f->store, "out:list", "2", 0);
  rc_store_set_add (f->store, "out:set", "m");
  rc_store_del (f->store, "out:before-gone");
  g_assert_cmpuint (rc_store_get_pending_writes (f->store), ==, 5);
  g_assert_false (rc_store_is_connected (f->store));

  /* Reads and syncs fail fast, from an idle. */
  rc_store_get (f->store, "out:before", on_string, &r);
  wait_result (&r);
  g_assert_error (r.error, RC_ERROR, RC_ERROR_STORE_UNAVAILABLE);
  g_assert_null (r.string);
  result_clear (&r);
  rc_store_list_range (f->store, "out:list", 0, -1, on_list, &r);
  wait_result (&r);
  g_assert_error (r.error, RC_ERROR, RC_ERROR_STORE_UNAVAILABLE);
  g_assert_null (r.list);
  result_clear (&r);
  rc_store_sync (f->store, on_sync, &r);
  wait_result (&r);
  g_assert_error (r.error, RC_ERROR, RC_ERROR_STORE_UNAVAILABLE);
  result_clear (&r);
  g_assert_cmpuint (rc_store_get_pending_writes (f->store), ==, 5);
  g_test_assert_expected_messages ();

  /* A few reconnects fail (refused) before the server is back. */
  rc_test_run_for (400);
  g_assert_false (rc_store_is_connected (f->store));
  g_assert_cmpuint (rc_store_get_pending_writes (f->store), ==, 5);

  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                         "Redis reconnected, replayed 5 writes*");
  g_assert_true (rc_test_redis_restart (f->redis, &error));
  g_assert_no_error (error);
  WAIT_UNTIL (rc_store_is_connected (f->store) && rc_store_get_pending_writes (f->store) == 0,
              RECONNECT_TIMEOUT_MS);
  g_test_assert_expected_messages ();

  before = get_value (f->store, "out:before");
  g_assert_cmpstr (before, ==, "kept");
  during = get_value (f->store, "out:during");
  g_assert_cmpstr (during, ==, "buffered");
  list = get_range (f->store, "out:list", 0, -1);
  assert_list (list, "1", "2", NULL);
  members = get_members (f->store, "out:set");
  assert_list (members, "m", NULL);
}

/* Writes and a read on the wire when the server dies: the read fails, the
 * writes (never answered) are replayed. */
static void
test_redis_in_flight_on_loss (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  Result r = { 0 };
  g_autofree char *before = NULL;
  g_autofree char *inflight = NULL;
  g_autoptr (GPtrArray) list = NULL;

  rc_store_set (f->store, "fl:before", "kept");
  sync_store (f->store);

  rc_test_redis_pause (f->redis);
  rc_store_set (f->store, "fl:inflight", "replayed");
  rc_store_list_push (f->store, "fl:list", "once", 0);
  rc_store_get (f->store, "fl:before", on_string, &r);
  drain (); /* hands the commands to the kernel */
  g_assert_false (r.done);
  g_assert_cmpuint (rc_store_get_pending_writes (f->store), ==, 2);
  g_assert_true (rc_store_is_connected (f->store));

  expect_loss_warning (f);
  rc_test_redis_kill (f->redis);
  WAIT_UNTIL (r.done, REPLY_TIMEOUT_MS);
  g_assert_error (r.error, RC_ERROR, RC_ERROR_STORE_UNAVAILABLE);
  result_clear (&r);
  g_assert_false (rc_store_is_connected (f->store));
  g_assert_cmpuint (rc_store_get_pending_writes (f->store), ==, 2);
  g_test_assert_expected_messages ();

  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                         "Redis reconnected, replayed 2 writes*");
  g_assert_true (rc_test_redis_restart (f->redis, &error));
  g_assert_no_error (error);
  WAIT_UNTIL (rc_store_is_connected (f->store) && rc_store_get_pending_writes (f->store) == 0,
              RECONNECT_TIMEOUT_MS);
  g_test_assert_expected_messages ();

  before = get_value (f->store, "fl:before");
  g_assert_cmpstr (before, ==, "kept");
  inflight = get_value (f->store, "fl:inflight");
  g_assert_cmpstr (inflight, ==, "replayed");
  list = get_range (f->store, "fl:list", 0, -1);
  assert_list (list, "once", NULL);
}

/* Past the buffer cap the oldest writes go, the newest are kept in order. */
static void
test_redis_buffer_cap (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) head = NULL;
  g_autoptr (GPtrArray) tail = NULL;
  char value[16];

  expect_loss_warning (f);
  rc_test_redis_kill (f->redis);
  WAIT_UNTIL (!rc_store_is_connected (f->store), REPLY_TIMEOUT_MS);
  g_test_assert_expected_messages ();

  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*dropping the oldest*");
  for (int i = 0; i < REDIS_MAX_BUFFERED + 5; i++)
    {
      g_snprintf (value, sizeof value, "%d", i);
      rc_store_list_push (f->store, "cap:list", value, 0);
    }
  g_test_assert_expected_messages ();
  g_assert_cmpuint (rc_store_get_pending_writes (f->store), ==, REDIS_MAX_BUFFERED);

  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                         "Redis reconnected, replayed 100000 writes, dropped 5*");
  g_assert_true (rc_test_redis_restart (f->redis, &error));
  g_assert_no_error (error);
  WAIT_UNTIL (rc_store_is_connected (f->store) && rc_store_get_pending_writes (f->store) == 0,
              RECONNECT_TIMEOUT_MS);
  g_test_assert_expected_messages ();

  head = get_range (f->store, "cap:list", 0, 1);
  assert_list (head, "5", "6", NULL);
  g_snprintf (value, sizeof value, "%d", REDIS_MAX_BUFFERED + 4);
  tail = get_range (f->store, "cap:list", -1, -1);
  assert_list (tail, value, NULL);
}

/* A write Redis refuses (here: wrong type, a caller bug) is logged and
 * dropped, not retried; the store carries on. The memory backend would
 * replace the value instead. */
static void
test_redis_rejected_write (Fixture *f, gconstpointer data)
{
  g_autofree char *value = NULL;
  g_autofree char *after = NULL;

  rc_store_set (f->store, "rw:key", "a string");
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*rejected a write: WRONGTYPE*");
  rc_store_set_add (f->store, "rw:key", "member");
  sync_store (f->store);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (rc_store_get_pending_writes (f->store), ==, 0);
  value = get_value (f->store, "rw:key");
  g_assert_cmpstr (value, ==, "a string");
  rc_store_set (f->store, "rw:other", "fine");
  after = get_value (f->store, "rw:other");
  g_assert_cmpstr (after, ==, "fine");
}

/* Accepts what is queued on @listener and keeps it open, never answering. */
static guint
accept_all (GSocket *listener, GPtrArray *accepted)
{
  GSocket *conn;

  while ((conn = g_socket_accept (listener, NULL, NULL)) != NULL)
    g_ptr_array_add (accepted, conn);
  return accepted->len;
}

/* Something accepts TCP on the port but never answers: each reconnect
 * attempt gives up after the connect timeout and the store keeps trying. */
static void
test_redis_hung_server (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (RcStore) store = NULL;
  g_autoptr (GSocket) listener = NULL;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr =
    g_inet_socket_address_new (lo, (guint16) rc_test_redis_get_port (f->redis));
  g_autoptr (GPtrArray) accepted = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *value = NULL;

  /* Only this store (short timeout) may log the loss. */
  g_clear_pointer (&f->store, rc_store_unref);
  drain ();
  store = rc_store_new (rc_test_redis_get_uri (f->redis), 300, &error);
  g_assert_no_error (error);
  sync_store (store);

  expect_loss_warning (f);
  rc_test_redis_kill (f->redis);
  WAIT_UNTIL (!rc_store_is_connected (store), REPLY_TIMEOUT_MS);
  g_test_assert_expected_messages ();

  listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                           &error);
  g_assert_no_error (error);
  g_socket_set_blocking (listener, FALSE);
  g_socket_set_listen_backlog (listener, 16);
  g_assert_true (g_socket_bind (listener, addr, TRUE, &error));
  g_assert_true (g_socket_listen (listener, &error));
  g_assert_no_error (error);

  rc_store_set (store, "hung:key", "v");
  WAIT_UNTIL (accept_all (listener, accepted) >= 3, RECONNECT_TIMEOUT_MS);
  g_assert_false (rc_store_is_connected (store));
  g_assert_cmpuint (rc_store_get_pending_writes (store), ==, 1);
  g_socket_close (listener, NULL);

  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                         "Redis reconnected, replayed 1 writes*");
  g_assert_true (rc_test_redis_restart (f->redis, &error));
  g_assert_no_error (error);
  WAIT_UNTIL (rc_store_is_connected (store) && rc_store_get_pending_writes (store) == 0,
              RECONNECT_TIMEOUT_MS);
  g_test_assert_expected_messages ();
  value = get_value (store, "hung:key");
  g_assert_cmpstr (value, ==, "v");
}

/* Freeing a store that is down drops its buffer and stops reconnecting;
 * a read issued before still gets its answer. */
static void
test_redis_free_while_down (Fixture *f, gconstpointer data)
{
  Result r = { 0 };

  expect_loss_warning (f);
  rc_test_redis_kill (f->redis);
  WAIT_UNTIL (!rc_store_is_connected (f->store), REPLY_TIMEOUT_MS);
  g_test_assert_expected_messages ();

  rc_store_set (f->store, "down:key", "lost");
  rc_store_list_push (f->store, "down:list", "lost", 3);
  rc_store_get (f->store, "down:key", on_string, &r);
  g_clear_pointer (&f->store, rc_store_unref);
  wait_result (&r);
  g_assert_error (r.error, RC_ERROR, RC_ERROR_STORE_UNAVAILABLE);
  result_clear (&r);
  rc_test_run_for (300); /* no reconnect timer may fire on a freed store */
}

static void
test_redis_unreachable (void)
{
  g_autoptr (GError) error = NULL;
  guint port = rc_test_free_port ();
  g_autofree char *uri = g_strdup_printf ("redis://127.0.0.1:%u/0", port);
  g_autofree char *address = g_strdup_printf ("127.0.0.1:%u", port);
  RcStore *store = rc_store_new (uri, 500, &error);

  g_assert_null (store);
  g_assert_error (error, RC_ERROR, RC_ERROR_STORE_UNAVAILABLE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, address));
}

static void
test_bad_uris (void)
{
  const char *uris[] = { "redis://", "redis://h:1/99", "redis://h:1/x", "foo://x", "redis:/x" };

  for (guint i = 0; i < G_N_ELEMENTS (uris); i++)
    {
      g_autoptr (GError) error = NULL;
      RcStore *store = rc_store_new (uris[i], 500, &error);

      g_test_message ("%s -> %s", uris[i], error ? error->message : "(no error)");
      g_assert_null (store);
      g_assert_error (error, RC_ERROR, RC_ERROR_INVALID_PARAM);
    }
}

/*
 * Fences (the cluster's leases): writes under a fenced prefix land only
 * while the fence key holds the epoch they were issued with, checked where
 * they are applied; epoch 0 drops them before they leave.
 */
static void
test_fences (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GPtrArray) members = NULL;
  g_autofree char *a = NULL;
  g_autofree char *other = NULL;
  const char *both[] = { "q1", "q2" };
  guint64 refused;

  rc_store_set (f->store, "room-epoch:x", "1");
  rc_store_fence (f->store, "room:x:", "room-epoch:x", 1);
  rc_store_set (f->store, "room:x:a", "one");
  rc_store_list_push (f->store, "room:x:chat", "hello", 10);
  rc_store_set_add (f->store, "room:x:viewers", "ann");
  rc_store_list_replace (f->store, "room:x:queue", both, 2);
  sync_store (f->store);
  g_assert_cmpuint (rc_store_get_fenced_refused (f->store), ==, 0);

  /* Another node took the room: epoch 2. This node's writes, issued with 1,
   * are refused, whatever their kind; other keys are not fenced. */
  rc_store_set (f->store, "room-epoch:x", "2");
  rc_store_set (f->store, "room:x:a", "stale");
  rc_store_list_push (f->store, "room:x:chat", "stale", 10);
  rc_store_set_remove (f->store, "room:x:viewers", "ann");
  rc_store_list_replace (f->store, "room:x:queue", both, 1);
  rc_store_del (f->store, "room:x:a");
  rc_store_set (f->store, "room:xa", "not under the prefix");
  rc_store_set (f->store, "room:y:a", "another room");
  sync_store (f->store);
  refused = rc_store_get_fenced_refused (f->store);
  g_assert_cmpuint (refused, ==, 5);
  a = get_value (f->store, "room:x:a");
  g_assert_cmpstr (a, ==, "one");
  list = get_range (f->store, "room:x:chat", 0, -1);
  assert_list (list, "hello", NULL);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = get_range (f->store, "room:x:queue", 0, -1);
  assert_list (list, "q1", "q2", NULL);
  members = get_members (f->store, "room:x:viewers");
  assert_list (members, "ann", NULL);
  other = get_value (f->store, "room:y:a");
  g_assert_cmpstr (other, ==, "another room");

  /* Epoch 0: dropped here, counted at once. */
  rc_store_fence (f->store, "room:x:", "room-epoch:x", 0);
  rc_store_set (f->store, "room:x:a", "dropped");
  g_assert_cmpuint (rc_store_get_fenced_refused (f->store), ==, refused + 1);

  /* The lease taken again with the current epoch: writes land again. */
  rc_store_fence (f->store, "room:x:", "room-epoch:x", 2);
  rc_store_set (f->store, "room:x:a", "two");
  g_clear_pointer (&a, g_free);
  a = get_value (f->store, "room:x:a");
  g_assert_cmpstr (a, ==, "two");
}

static void
test_eval (Fixture *f, gconstpointer data)
{
  const char *argv[] = { "k", "v" };
  Result r = { 0 };
  g_autoptr (GPtrArray) list = NULL;

  rc_store_eval (f->store,
                 "redis.call('SET', KEYS[1], ARGV[1]) "
                 "return {redis.call('GET', KEYS[1]), 42, false}",
                 1, argv, G_N_ELEMENTS (argv), on_list, &r);
  wait_result (&r);
  if (f->backend == BACKEND_MEMORY)
    {
      g_assert_error (r.error, RC_ERROR, RC_ERROR_STORE_UNAVAILABLE);
      result_clear (&r);
      return;
    }
  list = steal_list (&r);
  assert_list (list, "v", "42", "", NULL);
  g_clear_pointer (&list, g_ptr_array_unref);

  /* A script error is a read error, not a crash. */
  rc_store_eval (f->store, "return redis.call('NOSUCHCOMMAND')", 0, NULL, 0, on_list, &r);
  wait_result (&r);
  g_assert_error (r.error, RC_ERROR, RC_ERROR_STORE_UNAVAILABLE);
  result_clear (&r);
}

static void
add_both (const char *name, void (*func) (Fixture *, gconstpointer))
{
  g_autofree char *memory = g_strdup_printf ("/store/memory/%s", name);
  g_autofree char *redis = g_strdup_printf ("/store/redis/%s", name);

  g_test_add (memory, Fixture, GINT_TO_POINTER (BACKEND_MEMORY), fixture_setup, func,
              fixture_teardown);
  g_test_add (redis, Fixture, GINT_TO_POINTER (BACKEND_REDIS), fixture_setup, func,
              fixture_teardown);
}

static void
add_redis (const char *name, void (*func) (Fixture *, gconstpointer))
{
  g_autofree char *path = g_strdup_printf ("/store/redis/%s", name);

  g_test_add (path, Fixture, GINT_TO_POINTER (BACKEND_REDIS), fixture_setup, func,
              fixture_teardown);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  add_both ("strings", test_strings);
  add_both ("list-push-cap", test_list_push_cap);
  add_both ("list-range", test_list_range);
  add_both ("list-replace", test_list_replace);
  add_both ("sets", test_sets);
  add_both ("zsets", test_zsets);
  add_both ("odd-values", test_odd_values);
  add_both ("write-order", test_write_order);
  add_both ("reads-are-async", test_reads_are_async);
  add_both ("sync-barrier", test_sync_barrier);
  add_both ("unref-with-pending-read", test_unref_with_pending_read);
  add_both ("status", test_status);
  add_both ("fences", test_fences);
  add_both ("eval", test_eval);

  add_redis ("survives-restart", test_redis_survives_restart);
  add_redis ("outage-buffers-and-replays", test_redis_outage);
  add_redis ("in-flight-on-loss", test_redis_in_flight_on_loss);
  add_redis ("buffer-cap", test_redis_buffer_cap);
  add_redis ("rejected-write", test_redis_rejected_write);
  add_redis ("hung-server", test_redis_hung_server);
  add_redis ("free-while-down", test_redis_free_while_down);
  g_test_add_func ("/store/redis/unreachable", test_redis_unreachable);
  g_test_add_func ("/store/uri/bad", test_bad_uris);

  return g_test_run ();
}
