#!/usr/bin/env python3
"""The README and the user guide in docs/, checked.

    links      every relative link in README.md, docs/*.md and
               deploy/k8s/README.md names a file
               that exists, and its #anchor (if any) a heading of that file
               (GitHub's anchors: lower case, punctuation dropped, spaces to
               dashes, -1, -2, ... for repeats; headings inside ``` fences
               are not headings)
    index      every docs/*.md page is linked from docs/README.md, and
               README.md links to docs/README.md
    quickstart README.md's Quickstart holds the two commands, each on the
               line under its "# 1." / "# 2." comment: .ci/run reads the
               test command from the line under "# 2." (sed), so moving or
               rewording it would break CI

Usage: docs_check.py ROOT          exit 1 and one line per problem
       docs_check.py --self-test   plants one problem per rule in a scratch
                                   tree and checks each is reported
"""
import os
import re
import sys
import tempfile

LINK = re.compile(r'(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)')
FENCE = re.compile(r'^\s*(```|~~~)')
HEADING = re.compile(r'^(#{1,6})\s+(.*?)\s*#*\s*$')


def strip_code(lines):
    """The lines outside fenced code blocks, with their 1-based numbers."""
    inside = False
    for number, line in enumerate(lines, 1):
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            yield number, line


def anchors_of(text):
    """The anchors GitHub gives the headings of a Markdown text."""
    seen = {}
    anchors = set()
    for _, line in strip_code(text.split('\n')):
        m = HEADING.match(line)
        if not m:
            continue
        title = re.sub(r'[`*]', '', m.group(2))
        title = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', title)
        slug = re.sub(r'[^\w\- ]', '', title.lower()).replace(' ', '-')
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f'{slug}-{n}')
    return anchors


# Other Markdown pages whose links are checked (the index rule is docs/'s only).
EXTRA_PAGES = ['deploy/k8s/README.md']


def pages(root):
    """README.md, docs/*.md and EXTRA_PAGES, as paths relative to root."""
    out = ['README.md']
    docs = os.path.join(root, 'docs')
    if os.path.isdir(docs):
        out += sorted('docs/' + f for f in os.listdir(docs) if f.endswith('.md'))
    return out + [p for p in EXTRA_PAGES if os.path.isfile(os.path.join(root, p))]


def check_links(root, problems):
    """Every relative link resolves, anchors included; returns the link graph."""
    graph = {}
    cache = {}
    for page in pages(root):
        with open(os.path.join(root, page), encoding='utf-8') as f:
            text = f.read()
        graph[page] = set()
        for number, line in strip_code(text.split('\n')):
            line = re.sub(r'`[^`]*`', '', line)  # code spans hold no links
            for m in LINK.finditer(line):
                target = m.group(1) or m.group(2)
                if re.match(r'^[a-z][a-z0-9+.-]*:', target):  # http:, mailto:, ...
                    continue
                path, _, anchor = target.partition('#')
                where = f'{page}:{number}: link {target}'
                if path:
                    resolved = os.path.normpath(os.path.join(os.path.dirname(page), path))
                    full = os.path.join(root, resolved)
                    if resolved.startswith('..') or not os.path.exists(full):
                        problems.append(f'{where}: no file {resolved}')
                        continue
                else:
                    resolved = page
                    full = os.path.join(root, page)
                graph[page].add(resolved)
                if anchor:
                    if not full.endswith('.md') or os.path.isdir(full):
                        problems.append(f'{where}: an anchor into a file that is not Markdown')
                        continue
                    if full not in cache:
                        with open(full, encoding='utf-8') as f:
                            cache[full] = anchors_of(f.read())
                    if anchor not in cache[full]:
                        problems.append(f'{where}: no heading #{anchor} in {resolved}')
    return graph


def check_index(root, graph, problems):
    if 'docs/README.md' not in graph:
        problems.append('docs/README.md: missing (the user guide index)')
        return
    if 'docs/README.md' not in graph.get('README.md', set()):
        problems.append('README.md: no link to docs/README.md')
    for page in graph:
        if page.startswith('docs/') and page != 'docs/README.md' \
                and page not in graph['docs/README.md']:
            problems.append(f'docs/README.md: no link to {page}')


def check_quickstart(root, problems):
    with open(os.path.join(root, 'README.md'), encoding='utf-8') as f:
        lines = f.read().split('\n')
    want = {
        '# 1. ': 'build/bin/proxima train --env CartPole-v1',
        '# 2. ': 'ctest --test-dir build',  # what .ci/run requires
    }
    for comment, command in want.items():
        at = [i for i, line in enumerate(lines) if line.startswith(comment)]
        if not at:
            problems.append(f'README.md: no line starting "{comment.strip()}" (Quickstart)')
        elif at[0] + 1 >= len(lines) or command not in lines[at[0] + 1]:
            problems.append(f'README.md:{at[0] + 2}: the line under "{comment.strip()}" '
                            f'lacks "{command}"')


def check(root):
    problems = []
    graph = check_links(root, problems)
    check_index(root, graph, problems)
    check_quickstart(root, problems)
    return problems


def write(root, path, text):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'w', encoding='utf-8') as f:
        f.write(text)


GOOD = {
    'README.md': ('# P\n\n```sh\n# 1. train\nbuild/bin/proxima train --env CartPole-v1\n'
                  '# 2. test\nctest --test-dir build\n```\n\n[guide](docs/README.md), '
                  '[t](docs/training.md#run-directories-and-resume)\n'),
    'docs/README.md': '# Guide\n\n[training](training.md) [back](../README.md#p)\n',
    'docs/training.md': ('# Training\n\n## Run directories and resume\n\n```sh\n# not a heading\n```\n'
                         '[self](#training) [fenced](#not-a-heading)\n'),
}


def self_test():
    cases = {
        'missing file': ({'docs/training.md': '# Training\n[x](nope.md)\n'}, 'no file docs/nope.md'),
        'missing anchor': ({'docs/README.md': '# Guide\n[t](training.md#nowhere)\n'},
                           'no heading #nowhere'),
        'fenced heading': ({}, 'no heading #not-a-heading'),
        'unreachable page': ({'docs/extra.md': '# Extra\n'}, 'no link to docs/extra.md'),
        'no index link': ({'README.md': GOOD['README.md'].replace('[guide](docs/README.md), ', '')},
                          'no link to docs/README.md'),
        'test command moved': ({'README.md': GOOD['README.md'].replace('# 2. test\n', '')},
                               'no line starting "# 2."'),
    }
    failures = 0
    for name, (changes, expected) in cases.items():
        with tempfile.TemporaryDirectory() as root:
            for path, text in {**GOOD, **changes}.items():
                write(root, path, text)
            problems = check(root)
            if not any(expected in p for p in problems):
                print(f'self-test "{name}": expected "{expected}", got {problems}')
                failures += 1
    with tempfile.TemporaryDirectory() as root:
        good = dict(GOOD)
        good['docs/training.md'] = good['docs/training.md'].replace(' [fenced](#not-a-heading)', '')
        for path, text in good.items():
            write(root, path, text)
        problems = check(root)
        if problems:
            print(f'self-test "clean tree": unexpected {problems}')
            failures += 1
    if failures:
        return 1
    print('docs checker: planted problems reported')
    return 0


def main(argv):
    if argv[1:] == ['--self-test']:
        return self_test()
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = argv[1]
    if not os.path.isfile(os.path.join(root, 'README.md')):
        print(f'docs_check.py: {root} has no README.md', file=sys.stderr)
        return 2
    problems = check(root)
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f'docs hold: {len(pages(root))} pages, every link and anchor resolves')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
