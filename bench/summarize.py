#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Turns run.sh's raw lines into a Markdown table of medians per mode and
# peer, every figure followed by its ratio to the raw epoll server.

import statistics
import sys
from collections import defaultdict

PEER_ORDER = ['epoll', 'epoll+fin', 'floor', 'gio', 'qt', 'uv', 'libtcp', 'libtcp+track',
              'libtcp+peer-limit']
PEER_NAMES = {
    'epoll': 'raw epoll',
    'epoll+fin': 'raw epoll, FIN instead of reset',
    'libtcp+track': 'libtcp TcpServer, get_connections() called',
    'libtcp+peer-limit': 'libtcp TcpServer, refused by max-connections-per-peer',
    'floor': 'floor (objects only, no library)',
    'gio': 'GIO GSocketService',
    'qt': 'Qt 5 QTcpServer',
    'uv': 'libuv',
    'libtcp': 'libtcp TcpServer',
}


def parse(path):
    runs = defaultdict(list)
    with open(path) as f:
        for line in f:
            fields = dict(kv.split('=', 1) for kv in line.split() if '=' in kv)
            if 'ok' not in fields:
                continue
            runs[(fields['mode'], fields['peer'])].append(fields)
    return runs


def cell(value, base, fmt):
    text = fmt.format(value)
    if base:
        return '{} ({:.2f}×)'.format(text, value / base)
    return text + ' (–)'


def paired_ratios(runs, mode, peers):
    """For every other libtcp peer (another build, or libtcp+OPTS), the
    median over rounds of its CPU per connection divided by libtcp's in the
    same round."""
    def per_round(peer):
        return {r['round']: int(r['cpu_ns']) / max(int(r['ok']), 1) for r in runs[(mode, peer)]}

    if 'libtcp' not in peers:
        return []
    base = per_round('libtcp')
    result = []
    for peer in peers:
        if peer == 'libtcp' or not peer.startswith('libtcp'):
            continue
        other = per_round(peer)
        ratios = [other[r] / base[r] for r in other if r in base and base[r] > 0]
        if ratios:
            result.append((peer, statistics.median(ratios), len(ratios)))
    return result


def main():
    runs = parse(sys.argv[1])
    for mode in ('fortune', 'echo', 'refuse'):
        peers = [p for p in PEER_ORDER if (mode, p) in runs]
        peers += sorted(p for (m, p) in runs if m == mode and p not in PEER_ORDER)
        if not peers:
            continue
        unit = {'fortune': 'conn', 'echo': 'round trip', 'refuse': 'refused conn'}[mode]
        rows = {}
        for peer in peers:
            rs = runs[(mode, peer)]
            ok = [int(r['ok']) for r in rs]
            rows[peer] = {
                'cpu': statistics.median(int(r['cpu_ns']) / 1000 / max(int(r['ok']), 1)
                                         for r in rs),
                'cpu_min': min(int(r['cpu_ns']) / 1000 / max(int(r['ok']), 1) for r in rs),
                'waited': statistics.median(100 * int(r.get('waited_ns', 0)) / 1e9 / float(r['secs'])
                                            for r in rs),
                'rate': statistics.median(float(r['rate']) for r in rs),
                'p50': statistics.median(int(r['p50_us']) for r in rs),
                'p99': statistics.median(int(r['p99_us']) for r in rs),
                'wakeups': statistics.median(int(r.get('wakeups', 0)) / max(int(r['ok']), 1)
                                             for r in rs),
                'rss': statistics.median(int(r['rss_kb']) for r in rs) / 1024,
                'overflows': statistics.median(int(r['overflows']) for r in rs),
                'overflows_max': max(int(r['overflows']) for r in rs),
                'failed': sum(int(r['failed']) for r in rs),
                'runs': len(rs),
                'ok': statistics.median(ok),
            }
        base = rows.get('epoll')
        rate_name = 'round trips/s' if mode == 'echo' else 'conns/s'
        print()
        print('### {} (medians of {} rounds)'.format(mode, max(r['runs'] for r in rows.values())))
        print()
        print('| server | CPU µs/{} | min CPU µs/{} | {} | p50 µs | p99 µs | peak RSS MiB '
              '| wakeups/{} | run-queue wait % | ListenOverflows (median/max) | failed |'
              .format(unit, unit, rate_name, unit))
        print('|---|---|---|---|---|---|---|---|---|---|---|')
        for peer in peers:
            r = rows[peer]
            b = base if base else None
            print('| {} | {} | {} | {} | {} | {} | {} | {:.2f} | {:.1f} | {:g}/{} | {} |'.format(
                PEER_NAMES.get(peer, peer),
                cell(r['cpu'], b and b['cpu'], '{:.2f}'),
                cell(r['cpu_min'], b and b['cpu_min'], '{:.2f}'),
                cell(r['rate'], b and b['rate'], '{:.0f}'),
                cell(r['p50'], b and b['p50'], '{:.0f}'),
                cell(r['p99'], b and b['p99'], '{:.0f}'),
                cell(r['rss'], b and b['rss'], '{:.1f}'),
                r['wakeups'],
                r['waited'],
                r['overflows'], r['overflows_max'], r['failed']))
        paired = paired_ratios(runs, mode, peers)
        if paired:
            print()
            print('Paired in each round (median of the per-round CPU ratios, less noisy than '
                  'the ratio of medians):')
            for peer, ratio, n in paired:
                print('- {} / libtcp: {:.3f} (libtcp / {}: {:.3f}), {} rounds'.format(
                    peer, ratio, peer, 1 / ratio, n))
        if 'gio' in rows and 'libtcp' in rows:
            print()
            print('libtcp / GSocketService: CPU per {} {:.2f}× (min {:.2f}×), {} {:.2f}×'.format(
                unit, rows['libtcp']['cpu'] / rows['gio']['cpu'],
                rows['libtcp']['cpu_min'] / rows['gio']['cpu_min'],
                rate_name, rows['libtcp']['rate'] / rows['gio']['rate']))


if __name__ == '__main__':
    main()
