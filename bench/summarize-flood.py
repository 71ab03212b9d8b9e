#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Turns run-flood.sh's raw lines into a Markdown table: per server, the
# good peer's latency alone and under the flood (medians over the rounds)
# and how busy the flood kept the server (serving the good peer included).

import statistics
import sys
from collections import defaultdict


def parse(path):
    runs = defaultdict(list)
    with open(path) as f:
        for line in f:
            fields = dict(kv.split('=', 1) for kv in line.split() if '=' in kv)
            if 'ok' in fields:
                runs[(fields['server'], fields['load'])].append(fields)
    return runs


def median(rows, key, scale=1.0):
    return statistics.median(float(r[key]) * scale for r in rows)


def main():
    runs = parse(sys.argv[1])
    servers = sorted({s for (s, _) in runs}, key=lambda s: (s != 'libtcp', s))
    print()
    print('| server | good p50 µs alone | good p99 µs alone | good p50 µs in flood '
          '| good p99 µs in flood | p99 in flood / alone | good conns in flood '
          '| flood conns/s | server busy % in flood | flood not refused | good failed |')
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    for server in servers:
        alone = runs[(server, 'alone')]
        good = runs[(server, 'good-in-flood')]
        flood = runs[(server, 'flood')]
        if not (alone and good and flood):
            continue
        ratios = [float(g['p99_us']) / max(float(a['p99_us']), 1)
                  for a, g in zip(alone, good)]
        busy = statistics.median(100 * int(f['server_cpu_ns']) / 1e9 / float(f['secs'])
                                 for f in flood)
        print('| {} | {:.0f} | {:.0f} | {:.0f} | {:.0f} | {:.2f}× (per round: {}) | {:.0f} '
              '| {:.0f} | {:.0f} | {} | {} |'.format(
                  server, median(alone, 'p50_us'), median(alone, 'p99_us'),
                  median(good, 'p50_us'), median(good, 'p99_us'),
                  median(good, 'p99_us') / max(median(alone, 'p99_us'), 1),
                  ' '.join('{:.2f}'.format(x) for x in ratios),
                  median(good, 'ok'), median(flood, 'rate'), busy,
                  sum(int(f['failed']) for f in flood),
                  sum(int(r['failed']) for r in alone + good)))


if __name__ == '__main__':
    main()
