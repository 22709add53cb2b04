"""Two benchmark results side by side: `python bench/compare.py BEFORE.json AFTER.json`.
Prints a Markdown table of requests/s, p95 and queries per endpoint and size."""

import json
import sys


def rows(report):
    out = {}
    for size in report["sizes"]:
        for row in size.get("endpoints", []):
            out[(row["name"], row["role"], size["grants"])] = row
    return out


def main():
    before, after = (rows(json.load(open(path))) for path in sys.argv[1:3])
    print("| endpoint (role) | grants | before: rps / p95 ms / queries | after: the same |")
    print("|---|---:|---:|---:|")
    for key, row in after.items():
        old = before.get(key)
        name, role, grants = key

        def cell(r):
            load = r["load"]["seetf"]
            return f"{load['rps']:.0f} / {load['p95_ms']:.0f} / {r['queries']['seetf']}"

        print(f"| {name} ({role}) | {grants:,} | {cell(old) if old else '—'} | {cell(row)} |")


if __name__ == "__main__":
    main()
