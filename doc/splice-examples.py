#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Splices programs from examples/ into a guide template.

  splice-examples.py --examples-dir DIR TEMPLATE OUTPUT
  splice-examples.py --list TEMPLATE

A template is Markdown with two kinds of directive, each alone on a line:

  @example NAME@          the whole of examples/NAME as a fenced code block
  @steps NAME NAME ...@   a table with one column per program, showing the
                          line of each that does each step of a fortune server

so that a guide shows the code that the test suite builds and runs, never a
copy that can drift from it. A missing example, or a step that cannot be found
in one, is an error that names the template and the file.
"""

import argparse
import os
import re
import sys

DIRECTIVE = re.compile(r'^@(example|steps)\s+([^@]+)@\s*$')

LANGUAGES = {
    '.c': ('c', 'C'),
    '.py': ('python', 'Python'),
    '.js': ('js', 'JavaScript'),
    '.vala': ('vala', 'Vala'),
}

# What a fortune server does, and how to spot the line that does it in any of
# the four languages (C names, PyGObject/GJS snake_case or camelCase, Vala).
STEPS = [
    ('Create a server', r'tcp_server_new\s*\(|Tcp\.Server\s*\('),
    ('Be told of queued connections',
     r'["\']pending-connection-available["\']|pending_connection_available\.connect'),
    ('Listen on 127.0.0.1, any free port', r'listen_?on\b'),
    ('Take each pending connection', r'next_?pending_?connection'),
    ('Send the fortune', r'write_?all|write_?bytes'),
    ('Run the main loop', r'main_loop_run|\.run\s*\('),
]

# The steps done on the server itself: a reader follows the table across a
# column, so their lines must name the variable the first step assigns.
SERVER_STEPS = ('Be told of queued connections', 'Listen on 127.0.0.1, any free port')
SERVER_VARIABLE = re.compile(r'(\w+)\s*=\s*(?:new\s+)?(?:tcp_server_new|Tcp\.Server)\b')

COMMENT = re.compile(r'^\s*(#|//|/\*|\*)')


class SpliceError(Exception):
    pass


def directives(lines):
    for number, line in enumerate(lines, 1):
        match = DIRECTIVE.match(line)
        if match:
            yield number, match.group(1), match.group(2).split()


def language(name):
    ext = os.path.splitext(name)[1]
    if ext not in LANGUAGES:
        raise SpliceError(f'examples/{name}: no language is known for "{ext}" files')
    return LANGUAGES[ext]


def read_example(template, examples_dir, name):
    path = os.path.join(examples_dir, name)
    try:
        with open(path, encoding='utf-8') as f:
            return f.read()
    except FileNotFoundError:
        raise SpliceError(f'{template} needs examples/{name}, which does not exist '
                          f'(looked for {path})') from None


def fence(text, lang):
    # A fence longer than any backtick run inside the program.
    longest = max((len(run) for run in re.findall(r'`+', text)), default=0)
    marks = '`' * max(3, longest + 1)
    return f'{marks}{lang}\n{text.rstrip()}\n{marks}\n'


def find_step(template, name, text, pattern):
    regex = re.compile(pattern, re.IGNORECASE)
    for line in text.splitlines():
        if regex.search(line) and not COMMENT.match(line):
            return line.strip()
    raise SpliceError(f'{template}: examples/{name} has no line matching /{pattern}/')


def code_cell(line):
    # Python-Markdown's tables leave pipes inside code spans alone; a line
    # holding a backtick needs a longer delimiter.
    return f'`` {line} ``' if '`' in line else f'`{line}`'


def check_server_variable(template, name, lines):
    match = SERVER_VARIABLE.search(lines[0])
    if not match:
        raise SpliceError(f'{template}: examples/{name}: the "{STEPS[0][0]}" line '
                          f'assigns no variable: {lines[0]}')
    variable = match.group(1)
    for (title, _), line in zip(STEPS, lines):
        if title in SERVER_STEPS and not re.search(rf'\b{variable}\b', line):
            raise SpliceError(f'{template}: examples/{name}: the "{title}" line does not use '
                              f'`{variable}`, the server the table creates: {line}')


def steps_table(template, examples_dir, names):
    texts = {name: read_example(template, examples_dir, name) for name in names}
    header = '| Step | ' + ' | '.join(language(n)[1] for n in names) + ' |'
    rule = '|---' * (len(names) + 1) + '|'
    rows = [header, rule]
    lines = {n: [find_step(template, n, texts[n], pattern) for _, pattern in STEPS]
             for n in names}
    for name in names:
        check_server_variable(template, name, lines[name])
    for i, (title, _) in enumerate(STEPS):
        cells = [code_cell(lines[n][i]) for n in names]
        rows.append(f'| {title} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(rows) + '\n'


def splice(template, examples_dir):
    with open(template, encoding='utf-8') as f:
        lines = f.read().splitlines(keepends=True)

    out = []
    spliced = dict((number, (kind, args)) for number, kind, args in directives(lines))
    for number, line in enumerate(lines, 1):
        if number not in spliced:
            out.append(line)
            continue
        kind, names = spliced[number]
        if kind == 'example':
            if len(names) != 1:
                raise SpliceError(f'{template}:{number}: @example takes one file name')
            out.append(fence(read_example(template, examples_dir, names[0]),
                             language(names[0])[0]))
        else:
            out.append(steps_table(template, examples_dir, names))
    return ''.join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--list', action='store_true',
                        help='print the examples TEMPLATE uses, one a line')
    parser.add_argument('--examples-dir', default='examples')
    parser.add_argument('template')
    parser.add_argument('output', nargs='?')
    args = parser.parse_args()

    try:
        if args.list:
            with open(args.template, encoding='utf-8') as f:
                used = []
                for _, _, names in directives(f.read().splitlines()):
                    used += [n for n in names if n not in used]
            print('\n'.join(used))
            return 0

        if args.output is None:
            parser.error('OUTPUT is required')
        text = splice(args.template, args.examples_dir)
    except SpliceError as e:
        print(f'splice-examples.py: error: {e}', file=sys.stderr)
        return 1

    with open(args.output, 'w', encoding='utf-8') as f:
        f.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
