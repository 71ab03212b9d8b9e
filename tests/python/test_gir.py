# SPDX-License-Identifier: LGPL-2.1-or-later
# The annotations that the bindings rely on, read from the generated
# Tcp-1.gir: a lost annotation shows up here before it shows up as a leak
# or a crash in some language.

import os
import xml.etree.ElementTree as ET

import pytest

NS = {
    'core': 'http://www.gtk.org/introspection/core/1.0',
    'glib': 'http://www.gtk.org/introspection/glib/1.0',
}


@pytest.fixture(scope='module')
def server_class():
    # The first GI_TYPELIB_PATH entry is the build tree's lib/ (tests/meson.build).
    lib_dir = os.environ['GI_TYPELIB_PATH'].split(os.pathsep)[0]
    tree = ET.parse(os.path.join(lib_dir, 'Tcp-1.gir'))
    klass = tree.find("core:namespace/core:class[@name='Server']", NS)
    assert klass is not None
    return klass


def member(klass, kind, name):
    element = klass.find(f"core:{kind}[@name='{name}']", NS)
    assert element is not None, f'{kind} {name} missing from the GIR'
    return element


def param(callable_, name):
    element = callable_.find(f"core:parameters/core:parameter[@name='{name}']", NS)
    assert element is not None, f'parameter {name} missing'
    return element


def type_name(element):
    return element.find('core:type', NS).get('name')


def test_next_pending_connection_nullable_transfer_full(server_class):
    for kind in ('method', 'virtual-method'):
        ret = member(server_class, kind, 'next_pending_connection').find('core:return-value', NS)
        assert ret.get('transfer-ownership') == 'full', kind
        assert ret.get('nullable') == '1', kind
        assert type_name(ret) == 'Gio.IOStream', kind


def test_wait_for_new_connection(server_class):
    method = member(server_class, 'method', 'wait_for_new_connection')
    assert method.get('throws') == '1'
    timed_out = param(method, 'timed_out')
    assert timed_out.get('direction') == 'out'
    assert timed_out.get('optional') == '1'
    assert type_name(timed_out) == 'gboolean'
    assert type_name(method.find('core:return-value', NS)) == 'gboolean'


def test_accept_error_carries_gerror(server_class):
    signal = server_class.find("glib:signal[@name='accept-error']", NS)
    params = signal.findall('core:parameters/core:parameter', NS)
    assert [type_name(p) for p in params] == ['GLib.Error']
    for name in ('new-connection', 'pending-connection-available'):
        signal = server_class.find(f"glib:signal[@name='{name}']", NS)
        assert signal is not None, name
        assert signal.findall('core:parameters/core:parameter', NS) == [], name


def test_incoming_connection_takes_a_socket(server_class):
    vfunc = member(server_class, 'virtual-method', 'incoming_connection')
    socket = param(vfunc, 'socket')
    assert type_name(socket) == 'Gio.Socket'
    assert socket.get('transfer-ownership') == 'none'


def test_accept_async_and_finish(server_class):
    method = member(server_class, 'method', 'accept_async')
    assert param(method, 'cancellable').get('nullable') == '1'
    assert param(method, 'callback').get('scope') == 'async'
    finish = member(server_class, 'method', 'accept_finish')
    assert finish.get('throws') == '1'
    assert finish.find('core:return-value', NS).get('transfer-ownership') == 'full'


@pytest.mark.parametrize('method,name', [
    ('listen', 'address'),
    ('listen_on', 'host'),
    ('set_proxy', 'uri'),
])
def test_nullable_parameters(server_class, method, name):
    assert param(member(server_class, 'method', method), name).get('nullable') == '1'


@pytest.mark.parametrize('method', ['get_server_address', 'get_socket', 'get_proxy'])
def test_nullable_transfer_none_returns(server_class, method):
    ret = member(server_class, 'method', method).find('core:return-value', NS)
    assert ret.get('nullable') == '1'
    assert ret.get('transfer-ownership') == 'none'


def test_throwing_methods(server_class):
    for name in ('listen', 'listen_on', 'set_socket_descriptor', 'wait_for_new_connection',
                 'accept_finish'):
        assert member(server_class, 'method', name).get('throws') == '1', name


def test_property_accessors(server_class):
    expected = {
        'listening': 'is_listening',
        'paused': 'is_paused',
        'server-address': 'get_server_address',
        'server-port': 'get_server_port',
        'max-pending-connections': 'get_max_pending_connections',
        'listen-backlog-size': 'get_listen_backlog_size',
        'reuse-port': 'get_reuse_port',
        'proxy': 'get_proxy',
    }
    for name, getter in expected.items():
        assert member(server_class, 'property', name).get('getter') == getter, name


def documented(element):
    ret = element.find('core:return-value', NS)
    return (element.find('core:doc', NS) is not None or
            (ret is not None and ret.find('core:doc', NS) is not None))


def test_everything_documented(server_class):
    methods = {m.get('name'): m for m in server_class.findall('core:method', NS)}
    for kind in ('constructor', 'method', 'virtual-method', 'property'):
        for element in server_class.findall(f'core:{kind}', NS):
            invoker = methods.get(element.get('invoker'))
            assert documented(element) or (invoker is not None and documented(invoker)), \
                f"{kind} {element.get('name')} has no documentation"
    for element in server_class.findall('glib:signal', NS):
        assert element.find('core:doc', NS) is not None, f"signal {element.get('name')}"
