#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks that a generated HTML reference is whole and self-contained.

  check-html.py [--index-link PAGE]... DIR

- every local link and resource (href, src, CSS url() and @import) in every
  page resolves to a file under DIR, and a #fragment to an id in that page;
- no stylesheet, script, image, font or frame comes from the network: only
  <a> may point outside, and only to http(s) or mailto;
- every link gi-docgen leaves for main.js to resolve into another namespace
  (data-namespace) has an entry in urlmap.js;
- index.html links to each PAGE given (the guides).
"""

import argparse
import html.parser
import os
import re
import sys
import urllib.parse

NETWORK = re.compile(r'^(https?:)?//', re.IGNORECASE)
CSS_URL = re.compile(r'url\(\s*[\'"]?([^\'")]+)[\'"]?\s*\)|@import\s+[\'"]([^\'"]+)[\'"]')
RESOURCE_TAGS = {'link': 'href', 'script': 'src', 'img': 'src', 'iframe': 'src',
                 'source': 'src', 'embed': 'src', 'object': 'data', 'audio': 'src',
                 'video': 'src', 'track': 'src', 'input': 'src'}


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.links = []        # (tag, attribute, value)
        self.external = []     # data-namespace of links left to main.js
        self.inline_css = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ('id', 'name'):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == 'a':
            if attrs.get('data-namespace') is not None:
                self.external.append(attrs['data-namespace'])
            elif attrs.get('href') is not None:
                self.links.append((tag, 'href', attrs['href']))
        elif tag in RESOURCE_TAGS and attrs.get(RESOURCE_TAGS[tag]) is not None:
            self.links.append((tag, RESOURCE_TAGS[tag], attrs[RESOURCE_TAGS[tag]]))
        if attrs.get('style'):
            self.inline_css.append(attrs['style'])

    def handle_data(self, data):
        if self.lasttag == 'style':
            self.inline_css.append(data)


def css_urls(text):
    for match in CSS_URL.finditer(text):
        yield match.group(1) or match.group(2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--index-link', action='append', default=[], metavar='PAGE',
                        help='a page index.html must link to (repeatable)')
    parser.add_argument('dir')
    args = parser.parse_args()

    root = os.path.realpath(args.dir)
    problems = []
    pages = {}

    namespaces = set()
    urlmap = os.path.join(root, 'urlmap.js')
    if os.path.exists(urlmap):
        with open(urlmap, encoding='utf-8') as f:
            namespaces = set(re.findall(r'\[\s*[\'"]([^\'"]+)[\'"]\s*,', f.read()))

    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            if name.endswith('.html'):
                page = Page()
                with open(path, encoding='utf-8') as f:
                    page.feed(f.read())
                pages[path] = page
            elif name.endswith('.css'):
                with open(path, encoding='utf-8') as f:
                    for url in css_urls(f.read()):
                        pages.setdefault(path, Page()).links.append(('css', 'url', url))

    if not any(p.endswith('.html') for p in pages):
        problems.append(f'{root}: no HTML pages')

    def target_of(source, url):
        parts = urllib.parse.urlsplit(url)
        target = source if parts.path == '' else os.path.normpath(
            os.path.join(os.path.dirname(source), urllib.parse.unquote(parts.path)))
        return target, urllib.parse.unquote(parts.fragment)

    for source, page in sorted(pages.items()):
        rel = os.path.relpath(source, root)
        for tag, attr, url in page.links:
            scheme = urllib.parse.urlsplit(url).scheme.lower()
            if tag != 'a':
                if NETWORK.match(url) or scheme not in ('', 'data'):
                    problems.append(f'{rel}: <{tag} {attr}="{url}"> loads from outside the '
                                    'reference')
                    continue
                if scheme == 'data':
                    continue
            elif scheme in ('http', 'https', 'mailto') or NETWORK.match(url):
                continue
            elif scheme == 'javascript':
                problems.append(f'{rel}: <a href="{url}"> leads nowhere')
                continue
            elif scheme != '':
                problems.append(f'{rel}: <a href="{url}">: unexpected scheme')
                continue

            target, fragment = target_of(source, url)
            if not (target == root or target.startswith(root + os.sep)):
                problems.append(f'{rel}: {attr}="{url}" points outside {args.dir}')
            elif not os.path.isfile(target):
                problems.append(f'{rel}: {attr}="{url}": {os.path.relpath(target, root)} '
                                'does not exist')
            elif fragment and target.endswith('.html'):
                if target in pages and fragment not in pages[target].ids:
                    problems.append(f'{rel}: {attr}="{url}": no id "{fragment}" in '
                                    f'{os.path.relpath(target, root)}')

        for css in page.inline_css:
            for url in css_urls(css):
                if NETWORK.match(url):
                    problems.append(f'{rel}: inline style loads {url}')

        for namespace in sorted(set(page.external)):
            if namespace not in namespaces:
                problems.append(f'{rel}: links into the {namespace} namespace, which '
                                'urlmap.js does not map')

    index = os.path.join(root, 'index.html')
    if index not in pages:
        problems.append(f'{args.dir}: no index.html')
    else:
        linked = {target_of(index, url)[0] for _, _, url in pages[index].links}
        for wanted in args.index_link:
            if os.path.join(root, wanted) not in linked:
                problems.append(f'index.html does not link to {wanted}')

    for problem in problems:
        print(f'check-html.py: {problem}', file=sys.stderr)
    n_links = sum(len(p.links) for p in pages.values())
    print(f'{len(pages)} files, {n_links} links checked, {len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
