// SPDX-License-Identifier: LGPL-2.1-or-later
// fortune-client.js: Qt's Fortune Client example on GIO, in JavaScript.
// Connects to a fortune server and prints what it sends until it closes.
// Usage: gjs -m fortune-client.js HOST PORT

import Gio from 'gi://Gio';
import System from 'system';

if (ARGV.length !== 2 || !/^\d+$/.test(ARGV[1]) || Number(ARGV[1]) < 1 ||
    Number(ARGV[1]) > 65535) {
    printerr('Usage: gjs -m fortune-client.js HOST PORT');
    System.exit(2);
}

Gio._promisify(Gio.SocketClient.prototype, 'connect_to_host_async', 'connect_to_host_finish');
Gio._promisify(Gio.InputStream.prototype, 'read_bytes_async', 'read_bytes_finish');

try {
    const client = new Gio.SocketClient({timeout: 10});
    const connection = await client.connect_to_host_async(ARGV[0], Number(ARGV[1]), null);
    const input = connection.get_input_stream();
    const chunks = [];
    for (;;) {
        // eslint-disable-next-line no-await-in-loop
        const bytes = await input.read_bytes_async(1024, 0, null);
        if (bytes.get_size() === 0)
            break;
        chunks.push(...bytes.toArray());
    }
    const text = new TextDecoder().decode(new Uint8Array(chunks));
    // print() adds the newline the fortune already ends with.
    print(text.replace(/\n$/, ''));
} catch (e) {
    printerr(`Could not get a fortune from ${ARGV[0]} port ${ARGV[1]}: ${e.message}`);
    System.exit(1);
}
