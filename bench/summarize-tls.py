#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Turns run-tls.sh's raw lines into Markdown tables of medians per peer,
# every figure followed by its ratio to the bare GnuTLS floor, and checks
# issue #12's targets for every libtcp peer.

import statistics
import sys
from collections import defaultdict

PEER_ORDER = ['floor', 'qt', 'gio', 'libtcp', 'gio+1ca', 'libtcp+1ca', 'gio-nulldb', 'gio-lean']
PEER_NAMES = {
    'floor': 'bare GnuTLS loop, one thread (the floor)',
    'qt': 'Qt 6 QSslServer (OpenSSL)',
    'gio': 'GIO GSocketService + GTlsServerConnection',
    'libtcp': 'libtcp TcpTlsServer',
    'gio+1ca': 'GIO, one-certificate system trust file',
    'libtcp+1ca': 'libtcp, one-certificate system trust file',
    'gio-nulldb': 'GIO, NULL database (gio-nulldb)',
    'gio-lean': 'GIO, NULL database + TCP_NODELAY (gio-lean)',
}


def parse(path):
    runs = defaultdict(list)
    with open(path) as f:
        for line in f:
            fields = dict(kv.split('=', 1) for kv in line.split() if '=' in kv)
            if 'ok' not in fields or 'pass' not in fields:
                continue
            runs[(fields['pass'], fields['peer'])].append(fields)
    return runs


def per_handshake_us(r, key='cpu_ns'):
    return int(r[key]) / 1000 / max(int(r['ok']), 1)


def ticks_us(r):
    return int(r['cpu_ticks']) * 1e6 / int(r['clk_tck']) / max(int(r['ok']), 1)


def others_pct(r):
    busy_ns = int(r['cpu0_busy_ticks']) * 1e9 / int(r['clk_tck'])
    return max(0.0, 100 * (busy_ns - int(r['cpu_ns'])) / (float(r['secs']) * 1e9))


def waited_pct(r):
    return max(0.0, 100 * int(r.get('waited_ns', 0)) / (float(r['secs']) * 1e9))


def steal_pct(r):
    # Over both CPUs.
    return 100 * int(r['steal_ticks']) / int(r['clk_tck']) / (2 * float(r['secs']))


def cell(value, base, fmt):
    text = fmt.format(value)
    if base:
        return '{} ({:.2f}×)'.format(text, value / base)
    return text


def name(peer):
    if peer in PEER_NAMES:
        return PEER_NAMES[peer]
    if peer.endswith('+1ca'):
        return peer[:-4] + ', one-certificate system trust file'
    return peer


def main():
    runs = parse(sys.argv[1])
    peers = [p for p in PEER_ORDER if ('load', p) in runs]
    peers += sorted(p for (pa, p) in runs if pa == 'load' and p not in PEER_ORDER)
    if not peers:
        print('no results')
        return

    load = {}
    for peer in peers:
        rs = runs[('load', peer)]
        load[peer] = {
            'cpu': statistics.median(per_handshake_us(r) for r in rs),
            'cpu_min': min(per_handshake_us(r) for r in rs),
            'ticks': statistics.median(ticks_us(r) for r in rs),
            'rate': statistics.median(float(r['rate']) for r in rs),
            'p50': statistics.median(int(r['hs_p50_us']) for r in rs) / 1000,
            'p99': statistics.median(int(r['hs_p99_us']) for r in rs) / 1000,
            'client': statistics.median(float(r['client_busy_pct']) for r in rs),
            'threads': max(int(r['threads']) for r in rs),
            'exited': statistics.median(
                100 * (1 - int(r['live_threads_ns']) / max(int(r['cpu_total_ns']), 1))
                for r in rs),
            'rss': statistics.median(int(r['rss_kb']) for r in rs) / 1024,
            'others': statistics.median(others_pct(r) for r in rs),
            'waited': statistics.median(waited_pct(r) for r in rs),
            'waited_max': max(waited_pct(r) for r in rs),
            'client_wait': statistics.median(float(r.get('client_wait_pct', 0)) for r in rs),
            'others_max': max(others_pct(r) for r in rs),
            'steal': statistics.median(steal_pct(r) for r in rs),
            'failed': sum(int(r['failed']) for r in rs),
            'ok': sum(int(r['ok']) for r in rs),
            'runs': len(rs),
            'session': rs[0].get('session', '?'),
        }

    lat = {}
    for peer in peers:
        rs = runs.get(('latency', peer))
        if not rs:
            continue
        lat[peer] = {
            'p50': statistics.median(int(r['hs_p50_us']) for r in rs),
            'p99': statistics.median(int(r['hs_p99_us']) for r in rs),
            'done': statistics.median(int(r['done_p50_us']) for r in rs),
            'rate': statistics.median(float(r['rate']) for r in rs),
            'cpu': statistics.median(per_handshake_us(r) for r in rs),
            'failed': sum(int(r['failed']) for r in rs),
            'ok': sum(int(r['ok']) for r in rs),
        }

    base = load.get('floor')
    print()
    print('### Handshakes under load (medians of {} rounds)'.format(
        max(r['runs'] for r in load.values())))
    print()
    print('| server | CPU µs/handshake | min CPU µs/handshake | handshakes/s | p50 ms | p99 ms '
          '| client CPU busy % | threads | exited threads\' CPU % | peak RSS MiB '
          '| server run-queue wait % (median/max) | client run-queue wait % '
          '| others on CPU 0 % (median/max) | failed |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    for peer in peers:
        r = load[peer]
        b = base if base else {}
        print('| {} | {} | {} | {} | {} | {} | {:.0f} | {} | {:.1f} | {:.1f} | {:.1f}/{:.1f} '
              '| {:.1f} | {:.1f}/{:.1f} | {} |'.format(
            name(peer),
            cell(r['cpu'], b.get('cpu'), '{:.0f}'),
            cell(r['cpu_min'], b.get('cpu_min'), '{:.0f}'),
            cell(r['rate'], b.get('rate'), '{:.0f}'),
            cell(r['p50'], b.get('p50'), '{:.1f}'),
            cell(r['p99'], b.get('p99'), '{:.1f}'),
            r['client'], r['threads'], r['exited'], r['rss'],
            r['waited'], r['waited_max'], r['client_wait'],
            r['others'], r['others_max'], r['failed']))

    if lat:
        lbase = lat.get('floor', {})
        print()
        print('### One handshake in flight (medians of the rounds\' percentiles)')
        print()
        print('| server | p50 µs to handshake done | p99 µs | p50 µs to the fortune\'s end '
              '| handshakes/s | CPU µs/handshake | handshakes | failed |')
        print('|---|---|---|---|---|---|---|---|')
        for peer in peers:
            if peer not in lat:
                continue
            r = lat[peer]
            print('| {} | {} | {} | {} | {:.0f} | {:.0f} | {} | {} |'.format(
                name(peer),
                cell(r['p50'], lbase.get('p50'), '{:.0f}'),
                cell(r['p99'], lbase.get('p99'), '{:.0f}'),
                cell(r['done'], lbase.get('done'), '{:.0f}'),
                r['rate'], r['cpu'], r['ok'], r['failed']))

    print()
    worst = max(abs(load[p]['ticks'] / load[p]['cpu'] - 1) for p in peers)
    print('Cross-check: utime + stime from /proc/PID/stat agrees with the process CPU clock '
          'within {:.1f} % (medians).'.format(100 * worst))
    print('Sessions: {}.'.format(', '.join(sorted({load[p]['session'] for p in peers}))))
    print('Steal time over both CPUs: {:.1f} % (median of all runs).'.format(
        statistics.median(load[p]['steal'] for p in peers)))

    if not base:
        return
    qt = load.get('qt')
    for peer in peers:
        if not peer.startswith('libtcp'):
            continue
        r = load[peer]
        checks = ['CPU {:.2f}× the floor (target ≤ 1.8×: {})'.format(
            r['cpu'] / base['cpu'], 'met' if r['cpu'] <= 1.8 * base['cpu'] else 'not met')]
        if qt:
            checks.append('CPU {:.2f}× Qt 6\'s ({})'.format(
                r['cpu'] / qt['cpu'], 'below' if r['cpu'] < qt['cpu'] else 'not below'))
            checks.append('handshakes/s {:.2f}× Qt 6\'s ({})'.format(
                r['rate'] / qt['rate'], 'met' if r['rate'] >= qt['rate'] else 'not met'))
        if peer in lat and 'floor' in lat:
            ratio = lat[peer]['p50'] / lat['floor']['p50']
            checks.append('p50 at one in flight {:.2f}× the floor\'s (target ≤ 1.2×: {})'.format(
                ratio, 'met' if ratio <= 1.2 else 'not met'))
        print('{}: {}.'.format(peer, '; '.join(checks)))


if __name__ == '__main__':
    main()
