#!/usr/bin/env python3
"""The project's dependency graph as the linker sees it: one node per object
file (named by its source), an arrow from A to B when A uses a symbol that B
defines.  Prints TAP: no cycles, and each layer uses only the layers below.

usage: deps.py [BUILDDIR]   (default: $ES_BUILDDIR, else .)"""

import os
import re
import subprocess
import sys

# Which folders a folder's objects may use, besides their own.
ALLOWED = {
    "core/base": set(),
    "core/aws": {"core/base"},
    "core": {"core/base", "core/aws"},
    "core/pipegen": {"core", "core/base", "core/aws"},
    "tui/dash": {"core", "core/base", "core/aws"},
    "tui/cli": {"core", "core/base", "core/aws", "core/pipegen", "tui/dash"},
    "tui": {"core", "core/base", "core/aws", "core/pipegen", "tui/dash", "tui/cli"},
}


def source_of(obj, build):
    """core/aws/libedgeship_core_a-s3.o -> core/aws/s3"""
    rel = os.path.relpath(obj, build)
    d, base = os.path.split(rel)
    base = re.sub(r"^[A-Za-z0-9_]+-", "", base[:-2]) if "-" in base else base[:-2]
    return os.path.join(d, base)


def objects(build):
    out = []
    for top in ("core", "tui"):
        for root, _dirs, files in os.walk(os.path.join(build, top)):
            for f in files:
                if f.endswith(".o"):
                    out.append(os.path.join(root, f))
    return sorted(out)


def symbols(obj):
    text = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRC":
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
    return defined, used


def sccs(graph):
    """Tarjan's strongly connected components, iteratively."""
    index, low, onstack, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        onstack.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    onstack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                elif nxt in onstack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    onstack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                out.append(sorted(comp))
    return out


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ES_BUILDDIR", ".")
    objs = objects(build)
    n = 0

    def ok(cond, desc, detail=""):
        nonlocal n
        n += 1
        print(("ok" if cond else "not ok") + f" {n} - {desc}")
        if not cond and detail:
            for line in detail.splitlines():
                print("# " + line)

    if not objs:
        ok(False, f"objects found under {build}/core and {build}/tui")
        print(f"1..{n}")
        return
    owner, uses = {}, {}
    for o in objs:
        src = source_of(o, build)
        defined, used = symbols(o)
        for s in defined:
            owner.setdefault(s, src)
        uses[src] = used
    graph = {src: set() for src in uses}
    for src, used in uses.items():
        for s in used:
            dst = owner.get(s)
            if dst and dst != src:
                graph[src].add(dst)
    cycles = [c for c in sccs(graph) if len(c) > 1]
    ok(not cycles, "no dependency cycles between source files",
       "\n".join(" <-> ".join(c) for c in cycles))
    for layer, allowed in sorted(ALLOWED.items()):
        bad = []
        for src, dsts in graph.items():
            if os.path.dirname(src) != layer:
                continue
            for d in sorted(dsts):
                dl = os.path.dirname(d)
                if dl != layer and dl not in allowed:
                    bad.append(f"{src} uses {d}")
        ok(not bad, f"{layer}/ uses only " + (", ".join(sorted(allowed)) or "itself"),
           "\n".join(bad))
    print(f"1..{n}")


if __name__ == "__main__":
    main()
