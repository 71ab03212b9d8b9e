#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks that every public symbol in a GIR is documented, with a version.

  check-gir-docs.py [--max-version MAJOR.MINOR] GIR

`gi-docgen check` reports undocumented functions, methods, properties and
signals, but not virtual functions, and it does not look for `Since:` at all.
This covers both: every class, record, constant, function, macro, method,
constructor, virtual function, property and signal needs a description and a
`Since:` line (the GIR's `version` attribute), and every parameter and
non-void return value of a callable needs a description.
"""

import argparse
import sys
import xml.etree.ElementTree as ET

CORE = 'http://www.gtk.org/introspection/core/1.0'
GLIB = 'http://www.gtk.org/introspection/glib/1.0'

TOP = ['class', 'interface', 'record', 'enumeration', 'bitfield', 'constant',
       'function', 'function-macro', 'callback', 'alias', 'union']
MEMBERS = ['constructor', 'method', 'function', 'virtual-method', 'property',
           f'{{{GLIB}}}signal']
CALLABLES = {'constructor', 'method', 'function', 'function-macro',
             'virtual-method', 'signal', 'callback'}


def tag(element):
    return element.tag.split('}')[-1]


def has_doc(element):
    doc = element.find(f'{{{CORE}}}doc')
    return doc is not None and (doc.text or '').strip() != ''


def check_callable(where, element, problems):
    params = element.find(f'{{{CORE}}}parameters')
    if params is not None:
        for param in params:
            if tag(param) in ('parameter', 'instance-parameter') and not has_doc(param):
                problems.append(f'{where}: parameter "{param.get("name")}" is not documented')
    retval = element.find(f'{{{CORE}}}return-value')
    if retval is not None:
        rtype = retval.find(f'{{{CORE}}}type')
        void = rtype is not None and rtype.get('name') == 'none'
        if not void and not has_doc(retval):
            problems.append(f'{where}: the return value is not documented')


def parse_version(text):
    try:
        return tuple(int(part) for part in text.split('.'))
    except ValueError:
        return None


def check_symbol(where, element, max_version, problems):
    if element.get('introspectable') == '0' and tag(element) != 'function-macro':
        return
    if element.get('private') == '1':
        return
    if not has_doc(element):
        problems.append(f'{where}: not documented')
    version = element.get('version')
    if version is None:
        problems.append(f'{where}: no "Since:" line')
    elif parse_version(version) is None:
        problems.append(f'{where}: "Since: {version}" is not a version')
    elif max_version is not None and parse_version(version) > parse_version(max_version):
        problems.append(f'{where}: "Since: {version}" is newer than this release, '
                        f'{max_version}')
    if tag(element) in CALLABLES:
        check_callable(where, element, problems)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--max-version', metavar='MAJOR.MINOR',
                        help='the newest "Since:" version allowed: this release')
    parser.add_argument('gir')
    args = parser.parse_args()

    namespace = ET.parse(args.gir).getroot().find(f'{{{CORE}}}namespace')
    ns = namespace.get('name')
    problems = []
    count = 0

    for top in namespace:
        if tag(top) not in TOP:
            continue
        name = f'{ns}.{top.get("name")}'
        check_symbol(name, top, args.max_version, problems)
        count += 1
        for member in top:
            if member.tag.split('}')[-1] not in [m.split('}')[-1] for m in MEMBERS]:
                continue
            kind = tag(member)
            sep = {'property': ':', 'signal': '::', 'virtual-method': '.vfunc.'}.get(kind, '.')
            check_symbol(f'{name}{sep}{member.get("name")}', member, args.max_version, problems)
            count += 1
        for member in top.findall(f'{{{CORE}}}member'):
            if not has_doc(member):
                problems.append(f'{name}.{member.get("name")}: not documented')

    for problem in problems:
        print(f'{args.gir}: {problem}', file=sys.stderr)
    if count == 0:
        print(f'{args.gir}: no symbols found', file=sys.stderr)
        return 1
    print(f'{count} symbols checked, {len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
