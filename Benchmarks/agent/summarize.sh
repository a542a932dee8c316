#!/bin/bash
# Turns run.sh's results.txt (one `key=value ...` line per trial) into a Markdown table: per size,
# median and min of the agent's time (polled, and from systemd's timestamps), of the floor's, their
# ratio, and the agent's resident memory.
#
#   summarize.sh results.txt
set -euo pipefail
awk '
function ms(us) { return sprintf("%.0f", us / 1000) }
function sortv(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
function median(key,   n, a, i) {
  n = split(vals[key], a, " "); for (i = 1; i <= n; i++) a[i] += 0; sortv(a, n)
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function minimum(key,   n, a, i, m) {
  n = split(vals[key], a, " "); m = a[1] + 0; for (i = 2; i <= n; i++) if (a[i] + 0 < m) m = a[i] + 0
  return m
}
function count(key,   a) { return split(vals[key], a, " ") }
{
  delete kv
  for (i = 1; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
  n = kv["n"]; sizes[n] = 1
  for (k in kv) if (k != "mode" && k != "n") vals[kv["mode"] "," n "," k] = vals[kv["mode"] "," n "," k] " " kv[k]
}
END {
  print "| pods | runs | floor: reload + start, median (min) | agent: mv → all active, polled, median (min) | agent, by systemd timestamps, median (min) | floor by systemd timestamps, median (min) | ratio agent/floor (medians, timestamps) | agent reloads | agent VmRSS idle → loaded |"
  print "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  ns = 0; for (n in sizes) order[++ns] = n + 0; sortv(order, ns)
  for (i = 1; i <= ns; i++) {
    n = order[i]
    fb = median("floor," n ",blocking_us"); fe = median("floor," n ",exact_us")
    ap = median("agent," n ",polled_us"); ae = median("agent," n ",exact_us")
    printf "| %d | %d | %s ms (%s) | %s ms (%s) | %s ms (%s) | %s ms (%s) | %.1f× | %s | %.1f → %.1f MiB |\n", n, count("agent," n ",polled_us"),
      ms(fb), ms(minimum("floor," n ",blocking_us")), ms(ap), ms(minimum("agent," n ",polled_us")),
      ms(ae), ms(minimum("agent," n ",exact_us")), ms(fe), ms(minimum("floor," n ",exact_us")),
      (fe > 0 ? ae / fe : 0), median("agent," n ",reloads"),
      median("agent," n ",rss_idle_kib") / 1024, median("agent," n ",rss_loaded_kib") / 1024
  }
  print ""
  print "| pods | floor: copy / reload / start, median ms | agent: first unit leaves inactive after mv, median (min) ms | polling: polls, mean cost of one poll | CPU during the trial, median ticks of 10 ms: agent / systemd / journald (floor: systemd / journald) |"
  print "| ---: | ---: | ---: | ---: | ---: |"
  for (i = 1; i <= ns; i++) {
    n = order[i]
    printf "| %d | %s / %s / %s | %s (%s) | %d, %.1f ms | %d / %d / %d (%d / %d) |\n", n,
      ms(median("floor," n ",copy_us")), ms(median("floor," n ",reload_us")), ms(median("floor," n ",start_us")),
      ms(median("agent," n ",first_start_us")), ms(minimum("agent," n ",first_start_us")),
      median("agent," n ",polls"), median("agent," n ",poll_mean_us") / 1000,
      median("agent," n ",cpu_agent_ticks"), median("agent," n ",cpu_systemd_ticks"), median("agent," n ",cpu_journald_ticks"),
      median("floor," n ",cpu_systemd_ticks"), median("floor," n ",cpu_journald_ticks")
  }
}' "$1"
