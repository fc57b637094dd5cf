#!/usr/bin/env python3
"""Fails when a crate's top-level modules import each other in a cycle.

The domain is one folder per business area and imports must point inward, towards the
lead model; the aws crate is one module per port it implements. A cycle between two
top-level modules means neither can be understood, tested or moved without the other.

An edge A -> B is a path `crate::B` (in a `use` or in code) inside module A, outside
comments and outside `#[cfg(test)]` modules (tests may reach anywhere). Modules compiled
only for tests (`#[cfg(any(test, feature = "test-support"))]` in lib.rs) are skipped: no
production code can depend on them.

    scripts/check-cycles.py shared/domain/src shared/aws/src

Prints each crate's module graph; exits 1 and names the cycle when there is one.
"""
import os
import re
import sys


def strip(src: str) -> str:
    """The source without comments, string literals and `#[cfg(test)]` modules."""
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    src = re.sub(r"//[^\n]*", "", src)
    src = re.sub(r'r#"(.*?)"#', '""', src, flags=re.S)
    src = re.sub(r'"(\\.|[^"\\])*"', '""', src, flags=re.S)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", src):
        if m.start() < i:
            continue
        out.append(src[i : m.start()])
        depth, j = 1, m.end()
        while depth and j < len(src):
            depth += {"{": 1, "}": -1}.get(src[j], 0)
            j += 1
        i = j
    out.append(src[i:])
    return "".join(out)


def modules(root: str) -> dict[str, list[str]]:
    lib = open(os.path.join(root, "lib.rs"), encoding="utf-8").read()
    test_only = set(re.findall(r"#\[cfg\(any\(test, feature = \"test-support\"\)\)\]\s*pub mod (\w+);", lib))
    declared = [m for m in re.findall(r"^(?:pub )?mod (\w+);", lib, re.M) if m not in test_only]
    files: dict[str, list[str]] = {}
    for name in declared:
        if os.path.isfile(os.path.join(root, name + ".rs")):
            files[name] = [os.path.join(root, name + ".rs")]
        folder = os.path.join(root, name)
        if os.path.isdir(folder):
            files.setdefault(name, [])
            for dirpath, _, names in os.walk(folder):
                files[name] += [os.path.join(dirpath, f) for f in names if f.endswith(".rs")]
    return files


def edges(files: dict[str, list[str]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in files}
    for module, paths in files.items():
        for path in paths:
            code = strip(open(path, encoding="utf-8").read())
            targets = set(re.findall(r"\bcrate::(\w+)", code))
            for group in re.findall(r"\bcrate::\{(.*?)\}\s*;", code, re.S):
                targets |= set(re.findall(r"(?:^|[,{]\s*)(\w+)", group))
            graph[module] |= {t for t in targets if t in files and t != module}
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def main(roots: list[str]) -> int:
    failed = False
    for root in roots:
        graph = edges(modules(root))
        print(f"{root}:")
        for module in sorted(graph):
            print(f"  {module} -> {', '.join(sorted(graph[module])) or '(nothing)'}")
        found = cycle(graph)
        if found:
            print(f"  CYCLE: {' -> '.join(found)}")
            failed = True
        else:
            print("  no cycle")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["shared/domain/src", "shared/aws/src"]))
