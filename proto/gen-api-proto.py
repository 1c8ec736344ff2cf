#!/usr/bin/python3
"""Write proto/api.proto from the CRI wire-facts table proto/cri-runtime-v1.tsv.

Usage: proto/gen-api-proto.py [TSV] [OUT]
       (defaults: proto/cri-runtime-v1.tsv and proto/api.proto in this repo)

The TSV lists every service, rpc, message, enum, enum value and field of the
CRI runtime.v1 API, one fact a line; its row kinds are described in
../shared/spec/README.md. This script turns those facts into a proto3 file.
The output is deterministic and follows the TSV's order: services and
top-level declarations as listed; inside a message, its nested messages and
enums (Outer.Inner in the TSV) first, then its fields. Type references are
written with the shortest name protoc resolves to the intended type.
It stops with an error on malformed rows; protoc does the proto3 checks.

The api.proto in the repo is this script's output that was then commented by
hand. Re-running the script overwrites the file and DROPS THOSE COMMENTS: diff
the result against git and put them back. The structure (names, numbers,
types, labels) is checked against the TSV by tests/unit/test_api_proto.py.

Python 3 standard library only.
"""

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_TSV = REPO / "proto" / "cri-runtime-v1.tsv"
DEFAULT_OUT = REPO / "proto" / "api.proto"

SCALARS = {
    "double", "float", "int32", "int64", "uint32", "uint64", "sint32",
    "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64", "bool",
    "string", "bytes",
}
# Map keys may be any integral or string scalar (not float, double or bytes).
MAP_KEYS = SCALARS - {"double", "float", "bytes"}
LABELS = {"singular": "", "repeated": "repeated ", "optional": "optional "}
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
MAP_TYPE = re.compile(r"^map<\s*([A-Za-z0-9_.]+)\s*,\s*([A-Za-z0-9_.]+)\s*>$")

# Number of columns (kind included) for each row kind.
COLUMNS = {"header": 3, "service": 2, "rpc": 6, "message": 2, "enum": 2,
           "value": 4, "field": 6}


class TsvError(Exception):
    pass


class Decl:
    """A message or an enum.

    `items` is its body: nested declarations, then fields (or enum values),
    each group in TSV order.
    """

    def __init__(self, kind, name):
        self.kind = kind          # "message" or "enum"
        self.name = name          # full name inside the package: Outer.Inner
        self.items = []           # ("decl", Decl), ("field", ...) or ("value", ...)

    @property
    def short(self):
        return self.name.rsplit(".", 1)[-1]

    @property
    def parent(self):
        return self.name.rsplit(".", 1)[0] if "." in self.name else ""


def map_entry_name(field_name):
    """The name protoc gives the synthetic message of a map field."""
    return "".join(p[:1].upper() + p[1:] for p in field_name.split("_")) + "Entry"


def parse(tsv_path):
    """Read the TSV into a dict describing the file, checking its shape."""
    syntax = package = None
    services = {}             # name -> list of rpc tuples, in TSV order
    decls = {}                # full name -> Decl
    top = []                  # top-level items in TSV order: ("service", n) / ("decl", Decl)
    fields = []               # (line, message, name, number, type, label)
    values = []               # (line, enum, name, number)

    text = Path(tsv_path).read_text(encoding="utf-8")
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        cols = line.split("\t")
        kind = cols[0]
        where = f"{tsv_path}:{line_no}"
        if kind not in COLUMNS:
            raise TsvError(f"{where}: unknown row kind {kind!r}")
        if len(cols) != COLUMNS[kind]:
            raise TsvError(f"{where}: {kind} row has {len(cols)} columns, "
                           f"expected {COLUMNS[kind]}")
        if kind == "header":
            key, value = cols[1], cols[2]
            if key == "syntax":
                # Spreadsheet exports may write it as ="proto3"; accept that.
                syntax = value.lstrip("=").strip('"')
            elif key == "package":
                package = value
            else:
                raise TsvError(f"{where}: unknown header {key!r}")
        elif kind == "service":
            name = cols[1]
            if not IDENT.match(name) or name in services:
                raise TsvError(f"{where}: bad or repeated service {name!r}")
            services[name] = []
            top.append(("service", name))
        elif kind == "rpc":
            _, service, name, request, response, mode = cols
            if service not in services:
                raise TsvError(f"{where}: rpc for undeclared service {service!r}")
            if mode not in ("unary", "server-stream"):
                raise TsvError(f"{where}: rpc mode {mode!r} is not unary or server-stream")
            services[service].append((name, request, response, mode, where))
        elif kind in ("message", "enum"):
            name = cols[1]
            if not DOTTED.match(name):
                raise TsvError(f"{where}: bad {kind} name {name!r}")
            if name in decls:
                raise TsvError(f"{where}: {name} declared twice")
            decl = Decl(kind, name)
            decls[name] = decl
            if decl.parent:
                outer = decls.get(decl.parent)
                if outer is None or outer.kind != "message":
                    raise TsvError(f"{where}: {name} is nested in {decl.parent!r}, "
                                   "which is not a message declared above it")
                outer.items.append(("decl", decl))
            else:
                top.append(("decl", decl))
        elif kind == "value":
            _, enum, name, number = cols
            values.append((where, enum, name, number))
        elif kind == "field":
            _, message, name, number, ftype, label = cols
            fields.append((where, message, name, number, ftype, label))

    if syntax != "proto3":
        raise TsvError(f"{tsv_path}: syntax is {syntax!r}, expected proto3")
    if not package or not DOTTED.match(package):
        raise TsvError(f"{tsv_path}: missing or bad package header")

    for where, enum, name, number in values:
        decl = decls.get(enum)
        if decl is None or decl.kind != "enum":
            raise TsvError(f"{where}: value for undeclared enum {enum!r}")
        if not IDENT.match(name) or not re.match(r"^-?[0-9]+$", number):
            raise TsvError(f"{where}: bad enum value {name!r} = {number!r}")
        decl.items.append(("value", name, int(number)))

    for where, message, name, number, ftype, label in fields:
        decl = decls.get(message)
        if decl is None or decl.kind != "message":
            raise TsvError(f"{where}: field for undeclared message {message!r}")
        if not IDENT.match(name) or not re.match(r"^[0-9]+$", number):
            raise TsvError(f"{where}: bad field {name!r} = {number!r}")
        if label not in LABELS:
            raise TsvError(f"{where}: label {label!r} is not one of {', '.join(LABELS)}")
        # A message body lists its nested declarations first, then its
        # fields, each in TSV order.
        decl.items.append(("field", name, int(number), ftype, label, where))

    return {"syntax": syntax, "package": package, "services": services,
            "decls": decls, "top": top}


class Resolver:
    """Finds, for a type reference, a name protoc resolves to the right type.

    protoc looks a relative name up from the innermost scope outwards and
    stops at the first scope where the first component of the name exists
    (a nested type, a field or enum value with that name, a synthetic map
    entry ...). So the shortest name is not always right: this picks the
    shortest suffix of the full name that protoc would resolve to that very
    type, falling back to the fully qualified .package.Name.
    """

    def __init__(self, spec):
        self.package = spec["package"]
        pkg = self.package
        self.symbols = {}     # full name (with package) -> kind
        parts = pkg.split(".")
        for i in range(1, len(parts) + 1):
            self.symbols[".".join(parts[:i])] = "package"
        for name, methods in spec["services"].items():
            self.symbols[f"{pkg}.{name}"] = "service"
            for m in methods:
                self.symbols[f"{pkg}.{name}.{m[0]}"] = "method"
        for decl in spec["decls"].values():
            full = f"{pkg}.{decl.name}"
            self.symbols[full] = decl.kind
            scope = f"{pkg}.{decl.parent}" if decl.parent else pkg
            for item in decl.items:
                if item[0] == "field":
                    self.symbols[f"{full}.{item[1]}"] = "field"
                    if item[3].startswith("map<"):
                        self.symbols[f"{full}.{map_entry_name(item[1])}"] = "map entry"
                elif item[0] == "value":
                    # Enum values live beside their enum, not inside it.
                    self.symbols[f"{scope}.{item[1]}"] = "enum value"

    def lookup(self, name, scope):
        """Mimic protoc's lookup of type name `name` used inside `scope`."""
        if name.startswith("."):
            return name[1:] if name[1:] in self.symbols else None
        first, _, rest = name.partition(".")
        while True:
            candidate = f"{scope}.{first}" if scope else first
            kind = self.symbols.get(candidate)
            if kind is not None:
                if rest:
                    # A compound name: the first part must be a container.
                    if kind in ("package", "message", "map entry", "enum", "service"):
                        full = f"{candidate}.{rest}"
                        return full if full in self.symbols else None
                elif kind in ("message", "map entry", "enum"):
                    return candidate
            if not scope:
                return None
            scope = scope.rpartition(".")[0]

    def resolve_tsv(self, name, scope, where):
        """Full name of the type the TSV means by `name` inside `scope`.

        TSV type names are relative names in the proto sense: the innermost
        enclosing scope that declares them wins.
        """
        found = self.lookup(name, scope)
        if found is None or self.symbols[found] not in ("message", "enum"):
            raise TsvError(f"{where}: type {name!r} is not a declared message or enum")
        return found

    def spell(self, full, scope):
        """Shortest name for type `full` that resolves to it from `scope`.

        Tries the last component, then longer package-relative names, then
        the fully qualified name.
        """
        parts = full[len(self.package) + 1:].split(".")
        for i in range(len(parts) - 1, -1, -1):
            candidate = ".".join(parts[i:])
            if self.lookup(candidate, scope) == full:
                return candidate
        return "." + full


def type_name(ftype, scope, resolver, where):
    """The proto spelling of a TSV field type used inside `scope`."""
    m = MAP_TYPE.match(ftype)
    if m:
        key, value = m.groups()
        if key not in MAP_KEYS:
            raise TsvError(f"{where}: map key type {key!r} is not allowed")
        return f"map<{key}, {type_name(value, scope, resolver, where)}>"
    if ftype in SCALARS:
        return ftype
    full = resolver.resolve_tsv(ftype, scope, where)
    return resolver.spell(full, scope)


def render(spec):
    resolver = Resolver(spec)
    pkg = spec["package"]
    out = [
        'syntax = "proto3";',
        "",
        f"package {pkg};",
    ]

    def emit_decl(decl, indent):
        pad = "  " * indent
        scope = f"{pkg}.{decl.name}"
        out.append(f"{pad}{decl.kind} {decl.short} {{")
        previous = None
        for item in decl.items:
            # A nested declaration is set off by blank lines from its siblings.
            if previous is not None and "decl" in (previous, item[0]):
                out.append("")
            if item[0] == "decl":
                emit_decl(item[1], indent + 1)
            elif item[0] == "value":
                out.append(f"{pad}  {item[1]} = {item[2]};")
            else:
                _, name, number, ftype, label, where = item
                if ftype.startswith("map<") and label != "singular":
                    raise TsvError(f"{where}: a map field cannot be {label}")
                spelled = type_name(ftype, scope, resolver, where)
                out.append(f"{pad}  {LABELS[label]}{spelled} {name} = {number};")
            previous = item[0]
        out.append(f"{pad}}}")

    for kind, item in spec["top"]:
        if kind == "service":
            out.append("")
            out.append(f"service {item} {{")
            scope = f"{pkg}.{item}"
            for name, request, response, mode, where in spec["services"][item]:
                req = resolver.spell(resolver.resolve_tsv(request, scope, where), scope)
                resp = resolver.spell(resolver.resolve_tsv(response, scope, where), scope)
                stream = "stream " if mode == "server-stream" else ""
                out.append(f"  rpc {name}({req}) returns ({stream}{resp}) {{}}")
            out.append("}")
        else:
            out.append("")
            emit_decl(item, 0)
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) > 3 or any(a in ("-h", "--help") for a in argv[1:]):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    tsv = Path(argv[1]) if len(argv) > 1 else DEFAULT_TSV
    out = Path(argv[2]) if len(argv) > 2 else DEFAULT_OUT
    try:
        out.write_text(render(parse(tsv)), encoding="utf-8")
    except (OSError, TsvError) as e:
        print(f"gen-api-proto: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
