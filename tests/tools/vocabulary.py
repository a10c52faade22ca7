#!/usr/bin/env python3
"""One vocabulary across the plugin SDKs: the public names of the Rust, Python and TypeScript SDKs
against plugins/vocabulary.txt, and the table of docs/plugin-guide.md against both.

What each SDK's public names are, read from its source as an author meets it:
- Rust (plugins/sdk/src): the `pub fn`s of each `impl TYPE { ... }` (not of trait impls), through
  a `pub type TYPE = OTHER;` alias too, and the module-level `pub fn`s of ids.rs, log.rs,
  testing.rs; `new` is the constructor every Rust type has, not vocabulary.
- Python (plugins/sdk-python): `smoke_plugin` imported natively, in a child interpreter, and read
  with `inspect`: each listed class's public methods, static methods and properties (a trailing
  underscore, as in `pass_`, is Python's spelling of the word), and its dataclass fields as
  attributes; the public functions of `smoke_plugin.ids`, `.log` and `.testing`.
- TypeScript (plugins/sdk-js/src): the published declarations, index.d.ts and testing.d.ts: the
  methods (static ones included) of each `declare class`, the methods of each `declare const X: {...}`
  (`Status`, `Part`, `Verdict`, `ids`, `log`), the `declare function`s of testing.d.ts; property
  declarations are attributes. Names are camelCase there and compared in snake_case.

Only the types plugins/vocabulary.txt names are read. Every method an SDK has must be in the list
(or be one of its language-only names or deprecated aliases), and every name of the list must be a
method in all three SDKs ([attributes]: a method or an attribute). The guide's table has one row
per name, in the list's order, each spelled as its SDK spells it.

Usage: vocabulary.py [ROOT]   (default: the repository this file is in). Exit 1 naming every
difference, and the SDK it is in.
"""

from __future__ import annotations

import json
import keyword
import pathlib
import re
import subprocess
import sys
from dataclasses import dataclass, field

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from house import closing, strip_rust, without_tests  # noqa: E402  (the same Rust reading as the house rules)

LANGS = ("rust", "python", "typescript")
SECTIONS = ("vocabulary", "attributes", "language only", "deprecated aliases")
TABLE = ("Rust", "Python", "TypeScript", "what it does")
# Modules whose functions are vocabulary, by the file (Rust) or module (Python, TypeScript) name.
MODULES = ("ids", "log", "testing")


# ---------------------------------------------------------------------------------------------
# The list


@dataclass
class Vocabulary:
    names: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    # language -> name -> why
    only: dict[str, dict[str, str]] = field(default_factory=lambda: {lang: {} for lang in LANGS})
    # language -> old name -> the names that replace it
    deprecated: dict[str, dict[str, list[str]]] = field(default_factory=lambda: {lang: {} for lang in LANGS})

    def rows(self) -> list[str]:
        """The guide table's rows, in order: every name, then every attribute."""
        return self.names + self.attributes

    def types(self) -> set[str]:
        named = set(self.rows())
        for lang in LANGS:
            named |= set(self.only[lang])
            for old, new in self.deprecated[lang].items():
                named |= {old, *new}
        return {n.split(".")[0] for n in named}


NAME = re.compile(r"[A-Za-z]\w*\.[a-z][a-z0-9_]*")


def parse_vocabulary(text: str) -> Vocabulary:
    """The list from its text; ValueError naming every line that is not a name of its section."""
    v, section, bad, seen = Vocabulary(), "vocabulary", [], set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = re.fullmatch(r"\[(.+)\]", line)
        if header:
            section = header.group(1)
            if section not in SECTIONS:
                bad.append(f"line {number}: unknown section [{section}] (one of {', '.join(SECTIONS)})")
            continue
        if section in ("vocabulary", "attributes"):
            if not NAME.fullmatch(line):
                bad.append(f"line {number}: {line!r} is not Type.snake_name")
            elif line in seen:
                bad.append(f"line {number}: {line} is listed twice")
            else:
                seen.add(line)
                (v.names if section == "vocabulary" else v.attributes).append(line)
            continue
        if section == "language only":
            m = re.fullmatch(r"(\w+):\s*(\S+)\s+(.+)", line)
            if not m or m.group(1) not in LANGS or not NAME.fullmatch(m.group(2)):
                bad.append(f"line {number}: {line!r} is not `LANG: Type.name why`")
            else:
                v.only[m.group(1)][m.group(2)] = m.group(3)
            continue
        m = re.fullmatch(r"(\w+):\s*(\S+)\s*->\s*(.+)", line)
        new = [n.strip() for n in m.group(3).split(",")] if m else []
        if not m or m.group(1) not in LANGS or not NAME.fullmatch(m.group(2)) or not all(map(NAME.fullmatch, new)):
            bad.append(f"line {number}: {line!r} is not `LANG: Type.old -> Type.new[, Type.new]`")
        else:
            v.deprecated[m.group(1)][m.group(2)] = new
    if bad:
        raise ValueError("\n".join(bad))
    return v


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


# ---------------------------------------------------------------------------------------------
# What each SDK has


@dataclass
class Names:
    """One SDK's public names: methods as `Type.snake_name` -> how the SDK spells the member, and
    attributes (fields, properties) as `Type.snake_name`."""

    methods: dict[str, str] = field(default_factory=dict)
    attributes: set[str] = field(default_factory=set)


def rust_names(sources: dict[str, str], types: set[str]) -> Names:
    """From Rust sources by file name (`builders.rs`: text)."""
    found: dict[str, set[str]] = {}
    aliases: dict[str, str] = {}  # each name of a `pub type A = B;` to the other
    for file, text in sources.items():
        code = without_tests(strip_rust(text))
        for m in re.finditer(r"\bpub\s+type\s+(\w+)\s*=\s*(\w+)\s*;", code):
            aliases[m.group(1)], aliases[m.group(2)] = m.group(2), m.group(1)
        for m in re.finditer(r"\bimpl\s*(?:<[^>{]*>)?\s*(\w+)\s*\{", code):
            end = closing(code, m.end() - 1)
            body = code[m.end() : end]
            for f in re.finditer(r"\bpub\s+(?:const\s+|async\s+|unsafe\s+)*fn\s+(\w+)", body):
                if body.count("{", 0, f.start()) == body.count("}", 0, f.start()):
                    found.setdefault(m.group(1), set()).add(f.group(1))
        module = pathlib.PurePath(file).stem
        for f in re.finditer(r"\bpub\s+(?:const\s+|async\s+|unsafe\s+)*fn\s+(\w+)", code):
            at = f.start()
            if module in MODULES and code.count("{", 0, at) == code.count("}", 0, at):
                found.setdefault(module, set()).add(f.group(1))
    names = Names()
    for type_, members in found.items():
        for name in {type_, aliases.get(type_)} & types:  # impl OTHER, with `pub type TYPE = OTHER;`
            names.methods.update({f"{name}.{m}": m for m in members if m != "new"})
    return names


def read_rust(src_dir: pathlib.Path, types: set[str]) -> Names:
    return rust_names({p.name: p.read_text() for p in sorted(src_dir.glob("*.rs"))}, types)


def _typescript_members(body: str) -> tuple[set[str], set[str]]:
    """(methods, properties) of a class body or an object type, comments already removed."""
    members, depth, start, k = [], 0, 0, 0
    while k < len(body):
        ch = body[k]
        if body.startswith("=>", k):
            k += 2
            continue
        if ch in "({[<":
            depth += 1
        elif ch in ")}]>":
            depth -= 1
        elif ch in ";," and depth == 0:
            members.append(body[start:k])
            start = k + 1
        k += 1
    members.append(body[start:])
    methods, properties = set(), set()
    for member in members:
        member = re.sub(r"^\s*(?:(?:static|readonly|public|declare|abstract)\s+)*", "", member)
        m = re.match(r"(\w+)\s*\??\s*([<(:])", member)
        if not m or m.group(1) == "constructor":
            continue
        (properties if m.group(2) == ":" else methods).add(m.group(1))
    return methods, properties


def typescript_names(declarations: dict[str, str], types: set[str]) -> Names:
    """From declaration files by module: `index` (smoke-plugin) and `testing` (smoke-plugin/testing)."""
    names = Names()

    def add(type_: str, methods: set[str], properties: set[str]) -> None:
        if type_ in types:
            names.methods.update({f"{type_}.{snake(m)}": m for m in methods})
            names.attributes.update(f"{type_}.{snake(p)}" for p in properties)

    for module, text in declarations.items():
        code = re.sub(r"/\*.*?\*/", lambda c: re.sub(r"[^\n]", " ", c.group(0)), text, flags=re.S)
        code = re.sub(r"//[^\n]*", "", code)
        for m in re.finditer(r"\bdeclare\s+class\s+(\w+)[^{]*\{|\bdeclare\s+const\s+(\w+)\s*:\s*\{", code):
            end = closing(code, m.end() - 1)
            add(m.group(1) or m.group(2), *_typescript_members(code[m.end() : end]))
        if module in MODULES:
            add(module, set(re.findall(r"\bdeclare\s+function\s+(\w+)", code)), set())
    return names


def read_typescript(src_dir: pathlib.Path, types: set[str]) -> Names:
    files = {"index": src_dir / "index.d.ts", "testing": src_dir / "testing.d.ts"}
    return typescript_names({m: p.read_text() for m, p in files.items() if p.exists()}, types)


def _python_names_here(sdk_dir: str, types: list[str]) -> dict:
    """Run in a child interpreter (the SDK imported there, not into the checker)."""
    import dataclasses
    import importlib
    import inspect

    sys.path.insert(0, sdk_dir)
    sdk = importlib.import_module("smoke_plugin")
    methods, attributes = {}, []
    for type_ in types:
        if type_ in MODULES:
            try:
                module = importlib.import_module(f"smoke_plugin.{type_}")
            except ModuleNotFoundError:
                continue
            for name, value in vars(module).items():
                if not name.startswith("_") and inspect.isfunction(value) and value.__module__ == module.__name__:
                    methods[f"{type_}.{name}"] = name
            continue
        cls = getattr(sdk, type_, None)
        if not inspect.isclass(cls):
            continue
        if dataclasses.is_dataclass(cls):
            attributes += [f"{type_}.{f.name}" for f in dataclasses.fields(cls) if not f.name.startswith("_")]
        for name in dir(cls):
            owner = next((k for k in cls.__mro__ if name in vars(k)), None)
            if name.startswith("_") or owner is None or not owner.__module__.startswith(sdk.__name__):
                continue
            word = name[:-1] if name.endswith("_") else name
            is_property = isinstance(inspect.getattr_static(cls, name), property)
            if is_property or callable(getattr(cls, name)):
                methods[f"{type_}.{word}"] = name
            if is_property:
                attributes.append(f"{type_}.{word}")
    return {"methods": methods, "attributes": attributes}


def read_python(sdk_dir: pathlib.Path, types: set[str]) -> Names:
    """The Python SDK in `sdk_dir` (holding the `smoke_plugin` package), imported by a child
    interpreter so that a checker run twice, or on another tree, imports each afresh."""
    child = subprocess.run(
        [sys.executable, __file__, "--python-names", str(sdk_dir), *sorted(types)],
        capture_output=True,
        text=True,
    )
    if child.returncode != 0:
        raise RuntimeError(f"cannot import smoke_plugin from {sdk_dir}:\n{child.stderr.strip()}")
    got = json.loads(child.stdout)
    return Names(dict(got["methods"]), set(got["attributes"]))


# ---------------------------------------------------------------------------------------------
# Comparing


def spelled(lang: str, name: str, names: Names | None = None) -> str:
    """How `lang` spells `Type.snake_name`: as its SDK does when known, else by its casing."""
    type_, member = name.split(".")
    if names is not None and name in names.methods:
        member = names.methods[name]
    elif lang == "typescript":
        member = camel(member)
    elif lang == "python" and keyword.iskeyword(member):
        member += "_"
    return f"{type_}::{member}" if lang == "rust" else f"{type_}.{member}"


def compare(vocabulary: Vocabulary, sdks: dict[str, Names], where: str = "plugins/vocabulary.txt") -> list[str]:
    """Every difference between the list and the SDKs, each naming its SDK."""
    problems = []
    listed = set(vocabulary.rows())
    for lang, names in sdks.items():
        only, deprecated = vocabulary.only[lang], vocabulary.deprecated[lang]
        has = set(names.methods) | names.attributes
        for name in vocabulary.names:
            if name not in names.methods:
                problems.append(f"{lang}: {spelled(lang, name)} is missing ({where} lists it)")
        for name in vocabulary.attributes:
            if name not in has:
                problems.append(f"{lang}: {spelled(lang, name)} is missing ({where} lists it under [attributes])")
        for name in sorted(set(names.methods) - listed - set(only) - set(deprecated)):
            problems.append(
                f"{lang}: {spelled(lang, name, names)} is extra: {where} does not list it (add it there and to "
                f"the other SDKs, or list it under [deprecated aliases] or [language only], saying why)"
            )
        for section, entries in (("language only", only), ("deprecated aliases", deprecated)):
            for name in entries:
                if name in listed:
                    problems.append(f"{lang}: {name} is under [{section}] and in the vocabulary too")
                elif name not in names.methods:
                    problems.append(f"{lang}: {spelled(lang, name)} is under [{section}] but not in the SDK")
        for old, new in deprecated.items():
            for target in new:
                if target not in listed:
                    problems.append(f"{lang}: {old} is deprecated for {target}, which is not in the vocabulary")
    return problems


def table_rows(guide: str) -> list[list[str]] | None:
    """The cells of each row of the guide's vocabulary table, or None when it has none."""
    lines = guide.splitlines()
    cells = lambda line: [c.strip() for c in line.strip().strip("|").split("|")]
    for i, line in enumerate(lines):
        if line.lstrip().startswith("|") and tuple(cells(line)) == TABLE:
            rows = []
            for row in lines[i + 2 :]:
                if not row.lstrip().startswith("|"):
                    break
                rows.append(cells(row))
            return rows
    return None


def guide_problems(guide: str, vocabulary: Vocabulary, python: Names | None = None,
                   where: str = "docs/plugin-guide.md") -> list[str]:
    """Differences between the guide's table and the list: a row missing, stale, misspelt or out of
    order. Python spellings come from the SDK when given (`method_`), else from the casing rule."""
    rows = table_rows(guide)
    if rows is None:
        return [f"{where} has no table with the columns {' | '.join(TABLE)}"]
    problems, named = [], []
    for number, row in enumerate(rows, start=1):
        m = re.fullmatch(r"`(\w+)::(\w+)`", row[0]) if len(row) == len(TABLE) else None
        if not m:
            problems.append(f"{where}: table row {number} is not `Type::name` | `Type.name` | `Type.name` | what: {row}")
            continue
        name = f"{m.group(1)}.{m.group(2)}"
        named.append(name)
        if name not in vocabulary.rows():
            problems.append(f"{where}: table row {name} is stale: plugins/vocabulary.txt does not list it")
            continue
        want = [f"`{spelled('rust', name)}`", f"`{spelled('python', name, python)}`", f"`{spelled('typescript', name)}`"]
        if row[:3] != want:
            problems.append(f"{where}: table row {name} reads {' | '.join(row[:3])}; it should read {' | '.join(want)}")
        if not row[3]:
            problems.append(f"{where}: table row {name} does not say what it does")
    for name in vocabulary.rows():
        if name not in named:
            problems.append(f"{where}: the table has no row for {name}")
    for name in sorted({n for n in named if named.count(n) > 1}):
        problems.append(f"{where}: the table has {name} twice")
    kept = [n for n in named if n in vocabulary.rows()]
    if not problems and kept != vocabulary.rows():
        problems.append(f"{where}: the table's rows are not in plugins/vocabulary.txt's order")
    return problems


def main(root: pathlib.Path) -> int:
    try:
        vocabulary = parse_vocabulary((root / "plugins" / "vocabulary.txt").read_text())
    except ValueError as e:
        print(f"plugins/vocabulary.txt:\n{e}", file=sys.stderr)
        return 1
    types = vocabulary.types()
    try:
        python = read_python(root / "plugins" / "sdk-python", types)
    except RuntimeError as e:
        print(f"python: {e}", file=sys.stderr)
        return 1
    sdks = {
        "rust": read_rust(root / "plugins" / "sdk" / "src", types),
        "python": python,
        "typescript": read_typescript(root / "plugins" / "sdk-js" / "src", types),
    }
    problems = compare(vocabulary, sdks)
    problems += guide_problems((root / "docs" / "plugin-guide.md").read_text(), vocabulary, python)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"vocabulary: {len(problems)} difference(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--python-names"]:
        print(json.dumps(_python_names_here(sys.argv[2], sys.argv[3:])))
        sys.exit(0)
    sys.exit(main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])))
