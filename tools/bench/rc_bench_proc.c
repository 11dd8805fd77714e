/* SPDX-License-Identifier: MIT */
/*
 * /proc readings for tools/bench-fanout. Why /proc and not getrusage: the
 * server is another process, and the benchmark wants its figures over a
 * window while it runs (a steady window, the join phase), per thread too,
 * so the table can say where the time goes. utime and stime come from
 * /proc/PID/stat, whose comm field may hold spaces and parentheses: the
 * fields are counted from the last ')'.
 */
#include "rc_bench_proc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

double
rc_bench_ticks_to_s (guint64 ticks)
{
  static long hz;

  if (hz <= 0)
    hz = sysconf (_SC_CLK_TCK);
  return (double) ticks / (double) (hz > 0 ? hz : 100);
}

/* utime + stime (fields 14 and 15) and comm from a stat file. */
static gboolean
read_stat (const char *path, guint64 *ticks, char *comm, gsize comm_size)
{
  g_autofree char *text = NULL;
  const char *open, *close;
  g_autofree char *rest = NULL;
  g_auto (GStrv) fields = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  open = strchr (text, '(');
  close = strrchr (text, ')');
  if (open == NULL || close == NULL || close < open)
    return FALSE;
  if (comm != NULL)
    {
      gsize n = MIN ((gsize) (close - open - 1), comm_size - 1);

      memcpy (comm, open + 1, n);
      comm[n] = '\0';
    }
  /* After ")": field 3 (state) is index 0, so utime (14) is 11, stime 12. */
  rest = g_strstrip (g_strdup (close + 1));
  fields = g_strsplit (rest, " ", -1);
  if (g_strv_length (fields) < 13)
    return FALSE;
  *ticks = g_ascii_strtoull (fields[11], NULL, 10) + g_ascii_strtoull (fields[12], NULL, 10);
  return TRUE;
}

guint64
rc_bench_thread_cpu_ns (GPid pid, GPid tid)
{
  g_autofree char *schedstat = g_strdup_printf ("/proc/%d/task/%d/schedstat", (int) pid, (int) tid);
  g_autofree char *stat = g_strdup_printf ("/proc/%d/task/%d/stat", (int) pid, (int) tid);
  g_autofree char *text = NULL;
  guint64 ticks = 0;

  if (g_file_get_contents (schedstat, &text, NULL, NULL))
    return g_ascii_strtoull (text, NULL, 10);
  if (!read_stat (stat, &ticks, NULL, 0))
    return 0;
  return (guint64) (rc_bench_ticks_to_s (ticks) * 1e9);
}

gboolean
rc_bench_proc_read (GPid pid, RcBenchProc *out)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *status_path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *status = NULL;
  g_auto (GStrv) lines = NULL;

  memset (out, 0, sizeof *out);
  if (!read_stat (stat_path, &out->cpu_ticks, NULL, 0)
      || !g_file_get_contents (status_path, &status, NULL, NULL))
    return FALSE;
  lines = g_strsplit (status, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], "VmRSS:"))
        out->rss_kib = g_ascii_strtoull (lines[i] + 6, NULL, 10);
      else if (g_str_has_prefix (lines[i], "Threads:"))
        out->threads = (guint) g_ascii_strtoull (lines[i] + 8, NULL, 10);
    }
  out->ok = TRUE;
  return TRUE;
}

static void
fold_digits (char *name)
{
  char *w = name;

  for (const char *r = name; *r != '\0'; r++)
    {
      if (g_ascii_isdigit (*r))
        {
          if (w == name || w[-1] != '#')
            *w++ = '#';
        }
      else
        *w++ = *r;
    }
  *w = '\0';
}

GHashTable *
rc_bench_threads_read (GPid pid)
{
  GHashTable *threads = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  g_autofree char *dir_path = g_strdup_printf ("/proc/%d/task", (int) pid);
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *entry;

  if (dir == NULL)
    return threads;
  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("%s/%s/stat", dir_path, entry);
      RcBenchThread t = { 0 };

      if (!read_stat (path, &t.cpu_ticks, t.name, sizeof t.name))
        continue;
      fold_digits (t.name);
      g_hash_table_insert (threads, GINT_TO_POINTER (atoi (entry)), g_memdup2 (&t, sizeof t));
    }
  return threads;
}

static gint
by_cpu_desc (gconstpointer a, gconstpointer b)
{
  const RcBenchThreadGroup *ga = *(RcBenchThreadGroup *const *) a;
  const RcBenchThreadGroup *gb = *(RcBenchThreadGroup *const *) b;

  if (ga->cpu_ticks != gb->cpu_ticks)
    return ga->cpu_ticks > gb->cpu_ticks ? -1 : 1;
  return strcmp (ga->name, gb->name);
}

GPtrArray *
rc_bench_threads_diff (GHashTable *before, GHashTable *after)
{
  g_autoptr (GHashTable) groups = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, after);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const RcBenchThread *now = value;
      const RcBenchThread *then = g_hash_table_lookup (before, key);
      guint64 spent = now->cpu_ticks;
      RcBenchThreadGroup *group;

      if (then != NULL && strcmp (then->name, now->name) == 0 && then->cpu_ticks <= spent)
        spent -= then->cpu_ticks;
      group = g_hash_table_lookup (groups, now->name);
      if (group == NULL)
        {
          group = g_new0 (RcBenchThreadGroup, 1);
          g_strlcpy (group->name, now->name, sizeof group->name);
          g_hash_table_insert (groups, group->name, group);
          g_ptr_array_add (out, group);
        }
      group->threads++;
      group->cpu_ticks += spent;
    }
  g_ptr_array_sort (out, by_cpu_desc);
  return out;
}

gboolean
rc_bench_machine_read (guint64 *busy, guint64 *total)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) fields = NULL;
  guint64 sum = 0, idle = 0;
  char *eol;

  if (!g_file_get_contents ("/proc/stat", &text, NULL, NULL) || !g_str_has_prefix (text, "cpu "))
    return FALSE;
  eol = strchr (text, '\n');
  if (eol != NULL)
    *eol = '\0';
  fields = g_strsplit_set (text + 4, " ", -1);
  for (guint i = 0, k = 0; fields[i] != NULL; i++)
    {
      guint64 v;

      if (*fields[i] == '\0')
        continue;
      v = g_ascii_strtoull (fields[i], NULL, 10);
      /* user nice system idle iowait irq softirq steal [guest guest_nice] */
      if (k < 8)
        sum += v;
      if (k == 3 || k == 4)
        idle += v;
      k++;
    }
  *busy = sum - idle;
  *total = sum;
  return TRUE;
}

gboolean
rc_bench_udp_read (RcBenchUdp *out)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;

  memset (out, 0, sizeof *out);
  if (!g_file_get_contents ("/proc/net/snmp", &text, NULL, NULL))
    return FALSE;
  lines = g_strsplit (text, "\n", -1);
  /* "Udp: Name Name ..." then "Udp: value value ..." */
  for (guint i = 0; lines[i] != NULL && lines[i + 1] != NULL; i++)
    {
      g_auto (GStrv) names = NULL;
      g_auto (GStrv) values = NULL;

      if (!g_str_has_prefix (lines[i], "Udp: ") || !g_str_has_prefix (lines[i + 1], "Udp: "))
        continue;
      names = g_strsplit (lines[i] + 5, " ", -1);
      values = g_strsplit (lines[i + 1] + 5, " ", -1);
      for (guint k = 0; names[k] != NULL && values[k] != NULL; k++)
        {
          guint64 v = g_ascii_strtoull (values[k], NULL, 10);

          if (g_str_equal (names[k], "InDatagrams"))
            out->in_datagrams = v;
          else if (g_str_equal (names[k], "OutDatagrams"))
            out->out_datagrams = v;
          else if (g_str_equal (names[k], "NoPorts"))
            out->no_ports = v;
          else if (g_str_equal (names[k], "InErrors"))
            out->in_errors = v;
          else if (g_str_equal (names[k], "RcvbufErrors"))
            out->rcvbuf_errors = v;
          else if (g_str_equal (names[k], "SndbufErrors"))
            out->sndbuf_errors = v;
        }
      return TRUE;
    }
  return FALSE;
}

char *
rc_bench_machine_describe_full (gboolean with_memory, const char *software)
{
  g_autofree char *cpuinfo = NULL;
  g_autofree char *meminfo = NULL;
  g_autofree char *model = NULL;
  g_autofree char *memory = NULL;
  struct utsname u;

  if (g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL))
    {
      const char *m = strstr (cpuinfo, "model name");
      const char *colon = m != NULL ? strchr (m, ':') : NULL;
      const char *eol = colon != NULL ? strchr (colon, '\n') : NULL;

      if (eol != NULL)
        model = g_strstrip (g_strndup (colon + 1, eol - colon - 1));
    }
  if (with_memory)
    {
      guint64 mem_kib = 0;

      if (g_file_get_contents ("/proc/meminfo", &meminfo, NULL, NULL)
          && g_str_has_prefix (meminfo, "MemTotal:"))
        mem_kib = g_ascii_strtoull (meminfo + 9, NULL, 10);
      memory = g_strdup_printf (", %.1f GiB RAM", mem_kib / 1048576.0);
    }
  if (uname (&u) != 0)
    g_strlcpy (u.release, "?", sizeof u.release);
  return g_strdup_printf ("%ld CPUs (%s)%s, Linux %s%s%s", sysconf (_SC_NPROCESSORS_ONLN),
                          model != NULL ? model : "?", memory != NULL ? memory : "", u.release,
                          software != NULL ? ", " : "", software != NULL ? software : "");
}

char *
rc_bench_machine_describe (void)
{
  return rc_bench_machine_describe_full (FALSE, NULL);
}

char *
rc_bench_loadavg (void)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) f = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return g_strdup ("?");
  f = g_strsplit (text, " ", 4);
  return g_strv_length (f) >= 3 ? g_strjoin (" ", f[0], f[1], f[2], NULL) : g_strdup ("?");
}
