#!/usr/bin/env python3
"""Checks every relative link of README.md and docs/src/**/*.md after `mdbook build docs`:
the target file exists and, with a #fragment, so does the anchor. Anchors inside the
book are read from the built HTML (docs/book), so explicit {#ids} and generated ones
count alike; anchors in other Markdown files (BENCHMARKS.md) are their headings' slugs.
Also checks the runbook citations (`docs/src/….md#anchor`) in infra/template.yaml.
mdbook itself does not report broken links. Exits 1 listing each broken one."""
import html
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SRC = os.path.join(ROOT, "docs", "src")
BOOK = os.path.join(ROOT, "docs", "book")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading):
    text = re.sub(r"\s*\{#[^}]+\}\s*$", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def markdown_anchors(path):
    anchors, fenced = set(), False
    for line in open(path, encoding="utf-8"):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            heading = line.lstrip("#").strip()
            explicit = re.search(r"\{#([^}]+)\}\s*$", heading)
            anchors.add(explicit.group(1) if explicit else slug(heading))
    return anchors


def html_anchors(md_path):
    rel = os.path.relpath(md_path, SRC)
    page = os.path.join(BOOK, os.path.splitext(rel)[0] + ".html")
    if not os.path.exists(page):
        return None
    return set(re.findall(r'\bid="([^"]+)"', html.unescape(open(page, encoding="utf-8").read())))


def links(path):
    fenced = False
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
            yield number, target


def check(path, broken):
    for number, target in links(path):
        if re.match(r"^[a-z]+:", target):
            continue
        file_part, _, fragment = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
        where = f"{os.path.relpath(path, ROOT)}:{number}: {target}"
        if not os.path.exists(dest):
            broken.append(f"{where}: no such file")
            continue
        if not fragment:
            continue
        anchors = None
        if dest.startswith(SRC + os.sep) and dest.endswith(".md"):
            anchors = html_anchors(dest)
            if anchors is None:
                broken.append(f"{where}: not built (is it in SUMMARY.md?)")
                continue
        elif dest.endswith(".md"):
            anchors = markdown_anchors(dest)
        if anchors is not None and fragment not in anchors:
            broken.append(f"{where}: no anchor #{fragment}")


def main():
    if not os.path.isdir(BOOK):
        sys.exit("check-docs-links: build the book first (mdbook build docs)")
    broken = []
    files = [os.path.join(ROOT, "README.md")]
    for directory, _, names in os.walk(SRC):
        files += [os.path.join(directory, n) for n in sorted(names) if n.endswith(".md")]
    for path in files:
        check(path, broken)
    template = os.path.join(ROOT, "infra", "template.yaml")
    for number, line in enumerate(open(template, encoding="utf-8"), 1):
        for page, fragment in re.findall(r"(docs/src/[\w/.-]+\.md)#([\w-]+)", line):
            anchors = html_anchors(os.path.join(ROOT, page))
            if anchors is None or fragment not in anchors:
                broken.append(f"infra/template.yaml:{number}: {page}#{fragment}: no such page or anchor")
    for line in broken:
        print(line, file=sys.stderr)
    if broken:
        sys.exit(f"check-docs-links: {len(broken)} broken link(s)")
    print(f"check-docs-links: {len(files)} files, every link resolves")


main()
