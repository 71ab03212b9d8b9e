#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Load for a fortune server on 127.0.0.1: THREADS clients connect, read to
end-of-file and close, over and over, for SECONDS. Prints one line,
"served N failed M", and exits 0.

    load-client.py PORT SECONDS [THREADS]
"""

import socket
import sys
import threading
import time


def main():
    port = int(sys.argv[1])
    seconds = float(sys.argv[2])
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    deadline = time.monotonic() + seconds
    counts = {'served': 0, 'failed': 0}
    lock = threading.Lock()

    def client():
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(('127.0.0.1', port), timeout=5) as sock:
                    data = b''
                    while chunk := sock.recv(4096):
                        data += chunk
                outcome = 'served' if data.endswith(b'\n') else 'failed'
            except OSError:
                outcome = 'failed'
            with lock:
                counts[outcome] += 1

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(f"served {counts['served']} failed {counts['failed']}", flush=True)


if __name__ == '__main__':
    main()
