#!/usr/bin/env python3
"""The house rules `make lint` holds the repository to, beyond rustfmt and clippy.

1. Every tracked path is a plain, printable name: no control characters, nothing Windows cannot
   check out (`<>:"|?*\\`, a trailing dot or space), valid UTF-8. (A file named after two lines
   of Rust once landed at the root through a blanket `git add`.)
2. No import circle among the host's top-level modules, nor between sibling files of one
   folder, read from the `crate::`, `super::` and `self::` paths of each file (tests excluded).
3. No function in `host/src` over 120 lines: a long function hides the stages a reader needs.
4. No `Result<_, String>` in `host/src`: errors are typed.

Usage: house.py [ROOT]   (default: the repository this file is in). Exit 1 naming every breach.
"""

import pathlib
import re
import subprocess
import sys

MAX_FUNCTION_LINES = 120
WINDOWS_RESERVED = set('<>:"|?*\\')


def path_problems(root):
    """Tracked paths that are not plain printable names, with why."""
    raw = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=True).stdout
    out = []
    for name in raw.split(b"\0"):
        if not name:
            continue
        try:
            text = name.decode("utf-8")
        except UnicodeDecodeError:
            out.append((repr(name), "is not UTF-8"))
            continue
        bad = [c for c in text if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029"]
        if bad:
            out.append((repr(text), "has control characters " + ", ".join(f"U+{ord(c):04X}" for c in sorted(set(bad)))))
            continue
        for part in text.split("/"):
            reserved = sorted(set(part) & WINDOWS_RESERVED)
            if reserved:
                out.append((repr(text), "has characters Windows refuses: " + " ".join(reserved)))
            elif part != part.strip() or part.endswith("."):
                out.append((repr(text), "has a part that begins or ends with a space, or ends with a dot"))
    return out


def strip_rust(src):
    """The source with comments, strings and character literals blanked (newlines kept), so braces
    and keywords are only code's."""
    out, i, n = [], 0, len(src)
    blank = lambda s: re.sub(r"[^\n]", " ", s)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
            continue
        if src.startswith("/*", i):
            depth, j = 0, i
            while j < n:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                    continue
                if src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
                if depth == 0:
                    break
            out.append(blank(src[i:j]))
            i = j
            continue
        raw = re.match(r'b?r(#*)"', src[i : i + 40])
        if raw and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            end = '"' + raw.group(1)
            j = src.find(end, i + len(raw.group(0)))
            j = n if j < 0 else j + len(end)
            out.append(blank(src[i:j]))
            i = j
            continue
        if c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j += 1
            out.append(blank(src[i:j]))
            i = j
            continue
        if c == "'":
            lit = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\x[0-9a-fA-F]{2}|\\.|[^\\'\n])'", src[i : i + 14])
            if lit:
                out.append(" " * len(lit.group(0)))
                i += len(lit.group(0))
                continue
        out.append(c)
        i += 1
    return "".join(out)


def closing(code, at):
    """The index of the `}` that closes the `{` at `at`."""
    depth = 0
    for k in range(at, len(code)):
        if code[k] == "{":
            depth += 1
        elif code[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return len(code) - 1


def without_tests(code):
    """The code without `#[cfg(test)]` items (test modules and test-only functions)."""
    while True:
        m = re.search(r"#\[cfg\(test\)\]", code)
        if not m:
            return code
        brace, semi = code.find("{", m.end()), code.find(";", m.end())
        if brace < 0 or (0 <= semi < brace):
            end = semi
        else:
            end = closing(code, brace)
        code = code[: m.start()] + re.sub(r"[^\n]", " ", code[m.start() : end + 1]) + code[end + 1 :]


def long_functions(src_dir):
    """(lines, file, line, name) of every function over the limit."""
    out = []
    for path in sorted(src_dir.rglob("*.rs")):
        code = strip_rust(path.read_text())
        for m in re.finditer(r"\bfn\s+(\w+)", code):
            j, depth = m.end(), 0
            while j < len(code):
                ch = code[j]
                if ch in "([":
                    depth += 1
                elif ch in ")]":
                    depth -= 1
                elif depth == 0 and ch in ";{":
                    break
                j += 1
            if j >= len(code) or code[j] == ";":
                continue
            first = code.count("\n", 0, m.start()) + 1
            last = code.count("\n", 0, closing(code, j)) + 1
            if last - first + 1 > MAX_FUNCTION_LINES:
                out.append((last - first + 1, path, first, m.group(1)))
    return out


def string_errors(src_dir):
    """(file, line, text) of every `Result<_, String>`."""
    out = []
    for path in sorted(src_dir.rglob("*.rs")):
        code = strip_rust(path.read_text())
        for m in re.finditer(r"\bResult\s*<", code):
            depth, args, start, k = 1, [], m.end(), m.end()
            while k < len(code) and depth:
                ch = code[k]
                if ch in "<([":
                    depth += 1
                elif ch in ">)]" and not (ch == ">" and code[k - 1] == "-"):
                    depth -= 1
                if depth == 1 and ch == ",":
                    args.append(code[start:k])
                    start = k + 1
                k += 1
            args.append(code[start : k - 1])
            if len(args) == 2 and re.fullmatch(r"\s*(std::string::)?String\s*", args[1]):
                line = code.count("\n", 0, m.start()) + 1
                out.append((path, line, "Result<" + ",".join(a.strip() for a in args) + ">"))
    return out


def module_of(path, src_dir):
    parts = list(path.relative_to(src_dir).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def use_paths(code):
    """Every path a file names: `use` trees expanded (`a::{b, c::d}`) and inline `crate::x::y`."""
    found = []

    def expand(prefix, tree):
        tree = tree.strip()
        if not tree:
            return
        if tree.startswith("{"):
            depth, start = 0, 1
            for k, ch in enumerate(tree):
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                if (ch == "," and depth == 1) or (ch == "}" and depth == 0):
                    expand(prefix, tree[start:k])
                    start = k + 1
            return
        head, sep, rest = tree.partition("::")
        head = head.split(" as ")[0].strip()
        if sep and rest.strip():
            expand(prefix + [head], rest)
        else:
            found.append(prefix + [head])

    for m in re.finditer(r"\buse\s+([^;]+);", code):
        expand([], m.group(1))
    for m in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", code):
        found.append(m.group(1).split("::"))
    return found


def module_cycles(src_dir):
    """Cycles among top-level modules, and among sibling modules, as lists of names."""
    files = sorted(src_dir.rglob("*.rs"))
    modules = {module_of(p, src_dir) for p in files}
    top, siblings = {}, {}
    for path in files:
        me = module_of(path, src_dir)
        here = me if path.name == "mod.rs" or path.name == "lib.rs" else me
        code = without_tests(strip_rust(path.read_text()))
        for p in use_paths(code):
            if p[0] == "crate":
                full = p[1:]
            elif p[0] in ("super", "self"):
                base = list(here)
                while p and p[0] in ("super", "self"):
                    if p[0] == "super":
                        base = base[:-1]
                    p = p[1:]
                full = base + p
            else:
                continue
            target = next((tuple(full[:k]) for k in range(len(full), 0, -1) if tuple(full[:k]) in modules), None)
            if not target or not me or target == me:
                continue
            if target[0] != me[0]:
                top.setdefault(me[0], set()).add(target[0])
            if me[:-1] == target[:-1]:
                siblings.setdefault(me, set()).add(target)
    named = lambda cycle: ["::".join(m) if isinstance(m, tuple) else m for m in cycle]
    return [named(c) for c in strongly_connected(top) + strongly_connected(siblings)]


def strongly_connected(graph):
    """Components of more than one node (Tarjan's, iterative)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    for root in sorted(graph, key=str):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()), key=str)))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, edges = work[-1]
            pushed = False
            for w in edges:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ()), key=str))))
                    pushed = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if pushed:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    out.append(sorted(component, key=str))
    return out


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
    src = root / "host" / "src"
    breaches = []
    for name, why in path_problems(root):
        breaches.append(f"tracked path {name} {why}: rename it (git mv) or remove it (git rm --cached)")
    if src.is_dir():
        for cycle in module_cycles(src):
            breaches.append(f"host/src: an import circle among {', '.join(cycle)}: move what they share to one side")
        for lines, path, line, name in long_functions(src):
            breaches.append(
                f"{path.relative_to(root)}:{line}: fn {name} is {lines} lines (most {MAX_FUNCTION_LINES}): split it into named stages"
            )
        for path, line, text in string_errors(src):
            breaches.append(f"{path.relative_to(root)}:{line}: {text}: use a typed error (thiserror)")
    for b in breaches:
        print(b, file=sys.stderr)
    if breaches:
        print(f"house rules: {len(breaches)} breach(es)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
