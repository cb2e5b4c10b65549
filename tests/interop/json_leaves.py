#!/usr/bin/python3
"""Check that a file (or stdin) is one JSON document and list its leaves.

Usage: json_leaves.py [FILE]

Prints one line per leaf value: the path (keys and indexes joined by "."), a
tab, and the value as compact JSON. Tests use it to check `shoal info --json`
without depending on the exact layout of the document. Exits 1 with one line on
stderr if the input is not valid JSON. Needs only the standard library.
"""

import json
import sys


def leaves(value, path):
    if isinstance(value, dict):
        for key, child in value.items():
            yield from leaves(child, path + [str(key)])
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from leaves(child, path + [str(index)])
    else:
        yield ".".join(path), value


def main():
    if len(sys.argv) > 1:
        with open(sys.argv[1], encoding="utf-8", errors="replace") as source:
            text = source.read()
    else:
        text = sys.stdin.read()
    try:
        document = json.loads(text)
    except ValueError as err:
        sys.stderr.write("json_leaves: not valid JSON: %s\n" % err)
        return 1
    for path, value in leaves(document, []):
        sys.stdout.write("%s\t%s\n" % (path, json.dumps(value)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
