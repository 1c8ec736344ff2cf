"""Checks proto/api.proto against the CRI wire facts in cri-runtime-v1.tsv.

api.proto was produced by proto/gen-api-proto.py and then commented by hand;
this test guards what matters on the wire: every service, rpc, message,
field (name, number, type, label), enum and enum value must match the TSV,
with nothing missing and nothing extra. It also checks that the C code
protoc-c generates from api.proto compiles cleanly, since brigd is built
from it.

Run: /usr/bin/python3 -m pytest -q tests/unit/test_api_proto.py
Needs: protoc, protoc-c, gcc (clang optional), python3-protobuf, python3-pytest.
"""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

REPO = Path(__file__).resolve().parents[2]
PROTO = REPO / "proto" / "api.proto"
TSV = REPO / "proto" / "cri-runtime-v1.tsv"
SHARED_TSV = REPO.parent / "shared" / "spec" / "cri-runtime-v1.tsv"
GENERATOR = REPO / "proto" / "gen-api-proto.py"
C_FLAGS = ["-std=c17", "-Wall", "-Wextra", "-Werror"]

FDP = descriptor_pb2.FieldDescriptorProto
SCALAR_TYPES = {
    FDP.TYPE_DOUBLE: "double", FDP.TYPE_FLOAT: "float",
    FDP.TYPE_INT32: "int32", FDP.TYPE_INT64: "int64",
    FDP.TYPE_UINT32: "uint32", FDP.TYPE_UINT64: "uint64",
    FDP.TYPE_SINT32: "sint32", FDP.TYPE_SINT64: "sint64",
    FDP.TYPE_FIXED32: "fixed32", FDP.TYPE_FIXED64: "fixed64",
    FDP.TYPE_SFIXED32: "sfixed32", FDP.TYPE_SFIXED64: "sfixed64",
    FDP.TYPE_BOOL: "bool", FDP.TYPE_STRING: "string", FDP.TYPE_BYTES: "bytes",
}
MAP_TYPE = re.compile(r"^map<\s*([A-Za-z0-9_.]+)\s*,\s*([A-Za-z0-9_.]+)\s*>$")


class Api:
    """The structure both sides are reduced to before comparing.

    Names are full names without the leading dot (runtime.v1.PodSandbox);
    field types are a scalar name, a full type name, or map<K,V> with K and V
    spelled the same way.
    """

    def __init__(self):
        self.syntax = None
        self.package = None
        self.services = {}   # service -> {rpc: (input, output, server_stream, client_stream)}
        self.messages = {}   # message -> {field: (number, type, label)}
        self.enums = {}      # enum -> {value: number}


# --- the TSV side ------------------------------------------------------------

def load_tsv(path):
    """Reads the TSV. Returns (Api, problems found in the TSV itself)."""
    api = Api()
    problems = []
    rpcs, fields, values = [], [], []
    for line_no, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        cols = line.split("\t")
        kind, rest = cols[0], cols[1:]
        where = f"TSV line {line_no}"
        if kind == "header" and len(rest) == 2:
            if rest[0] == "syntax":
                api.syntax = rest[1].lstrip("=").strip('"')   # written as ="proto3"
            elif rest[0] == "package":
                api.package = rest[1]
            else:
                problems.append(f"{where}: unknown header {rest[0]!r}")
        elif kind == "service" and len(rest) == 1:
            api.services[rest[0]] = {}
        elif kind == "rpc" and len(rest) == 5:
            rpcs.append((where, *rest))
        elif kind == "message" and len(rest) == 1:
            api.messages[rest[0]] = {}
        elif kind == "enum" and len(rest) == 1:
            api.enums[rest[0]] = {}
        elif kind == "value" and len(rest) == 3:
            values.append((where, *rest))
        elif kind == "field" and len(rest) == 5:
            fields.append((where, *rest))
        else:
            problems.append(f"{where}: cannot read row {line!r}")
    if api.package is None:
        problems.append("TSV: no package header")
        return api, problems
    pkg = api.package
    types = set(api.messages) | set(api.enums)

    def resolve(name, scope, where):
        # A relative name, as in a .proto file: the innermost scope wins.
        if name.startswith("."):
            if name.startswith(f".{pkg}.") and name[len(pkg) + 2:] in types:
                return name[1:]
        else:
            parts = scope.split(".") if scope else []
            for i in range(len(parts), -1, -1):
                candidate = ".".join(parts[:i] + [name])
                if candidate in types:
                    return f"{pkg}.{candidate}"
        problems.append(f"{where}: type {name!r} is not declared in the TSV")
        return f"?{name}"

    def field_type(ftype, scope, where):
        m = MAP_TYPE.match(ftype)
        if m:
            key, value = m.groups()
            return f"map<{field_type(key, scope, where)},{field_type(value, scope, where)}>"
        if ftype in SCALAR_TYPES.values():
            return ftype
        return resolve(ftype, scope, where)

    for where, service, name, request, response, mode in rpcs:
        if service not in api.services:
            problems.append(f"{where}: rpc {name} of undeclared service {service}")
            continue
        if mode not in ("unary", "server-stream"):
            problems.append(f"{where}: rpc {service}.{name}: unknown mode {mode!r}")
        api.services[service][name] = (resolve(request, "", where), resolve(response, "", where),
                                       mode == "server-stream", False)
    for where, enum, name, number in values:
        if enum not in api.enums:
            problems.append(f"{where}: value {name} of undeclared enum {enum}")
            continue
        api.enums[enum][name] = int(number)
    for where, message, name, number, ftype, label in fields:
        if message not in api.messages:
            problems.append(f"{where}: field {name} of undeclared message {message}")
            continue
        if label not in ("singular", "repeated", "optional"):
            problems.append(f"{where}: field {message}.{name}: unknown label {label!r}")
        api.messages[message][name] = (int(number), field_type(ftype, message, where), label)

    # Key everything by full name, like the descriptor side.
    api.services = {f"{pkg}.{k}": v for k, v in api.services.items()}
    api.messages = {f"{pkg}.{k}": v for k, v in api.messages.items()}
    api.enums = {f"{pkg}.{k}": v for k, v in api.enums.items()}
    return api, problems


# --- the api.proto side --------------------------------------------------------

def compile_proto(proto_path, out_path):
    """Runs protoc on proto_path; returns its error text, or None on success."""
    proto_path = Path(proto_path).resolve()
    result = subprocess.run(
        ["protoc", "--include_imports", f"--descriptor_set_out={Path(out_path).resolve()}",
         "-I.", proto_path.name],
        cwd=proto_path.parent, capture_output=True, text=True)
    if result.returncode != 0:
        return (result.stderr or result.stdout).strip()
    return None


def load_descriptor(path):
    """Reads protoc's descriptor set. Returns (Api, problems)."""
    fds = descriptor_pb2.FileDescriptorSet()
    fds.ParseFromString(Path(path).read_bytes())
    fd = fds.file[-1]          # with --include_imports, the main file is last
    api = Api()
    problems = []
    api.syntax = fd.syntax or "proto2"
    api.package = fd.package
    pkg = fd.package

    for service in fd.service:
        rpcs = api.services[f"{pkg}.{service.name}"] = {}
        for m in service.method:
            rpcs[m.name] = (m.input_type.lstrip("."), m.output_type.lstrip("."),
                            m.server_streaming, m.client_streaming)

    # Synthetic map entry messages, found first so map fields can use them.
    map_entries = {}

    def find_entries(msg, prefix):
        full = f"{prefix}.{msg.name}"
        for nested in msg.nested_type:
            if nested.options.map_entry:
                map_entries[f"{full}.{nested.name}"] = nested
            else:
                find_entries(nested, full)

    for msg in fd.message_type:
        find_entries(msg, pkg)

    def type_of(field):
        if field.type in SCALAR_TYPES:
            return SCALAR_TYPES[field.type]
        return field.type_name.lstrip(".")

    def add_enum(enum, prefix):
        api.enums[f"{prefix}.{enum.name}"] = {v.name: v.number for v in enum.value}

    def add_message(msg, prefix):
        full = f"{prefix}.{msg.name}"
        fields = api.messages[full] = {}
        real_oneofs = {f.oneof_index for f in msg.field
                       if f.HasField("oneof_index") and not f.proto3_optional}
        for index in sorted(real_oneofs):
            problems.append(f"message {short(full, pkg)}: has oneof "
                            f"{msg.oneof_decl[index].name}, which the TSV does not describe")
        for f in msg.field:
            ftype, label = type_of(f), "singular"
            entry = map_entries.get(ftype)
            if f.label == FDP.LABEL_REPEATED and entry is not None:
                key = next((e for e in entry.field if e.number == 1), None)
                value = next((e for e in entry.field if e.number == 2), None)
                ftype = f"map<{type_of(key)},{type_of(value)}>"
            elif f.label == FDP.LABEL_REPEATED:
                label = "repeated"
            elif f.proto3_optional:
                label = "optional"
            elif f.label == FDP.LABEL_REQUIRED:
                label = "required"
            fields[f.name] = (f.number, ftype, label)
        for enum in msg.enum_type:
            add_enum(enum, full)
        for nested in msg.nested_type:
            if not nested.options.map_entry:
                add_message(nested, full)

    for enum in fd.enum_type:
        add_enum(enum, pkg)
    for msg in fd.message_type:
        add_message(msg, pkg)
    return api, problems


# --- the comparison ------------------------------------------------------------

def short(name, pkg):
    """runtime.v1.Foo.Bar -> Foo.Bar, for readable messages."""
    return name[len(pkg) + 1:] if pkg and name.startswith(pkg + ".") else name


def short_type(ftype, pkg):
    m = MAP_TYPE.match(ftype)
    if m:
        return f"map<{short_type(m.group(1), pkg)},{short_type(m.group(2), pkg)}>"
    return short(ftype, pkg)


def yes_no(flag):
    return "yes" if flag else "no"


def compare(proto, tsv):
    """Lists every difference between two Api structures, proto first."""
    problems = []
    pkg = tsv.package
    if proto.syntax != tsv.syntax:
        problems.append(f"syntax {proto.syntax} in api.proto, {tsv.syntax} in TSV")
    if proto.package != tsv.package:
        problems.append(f"package {proto.package} in api.proto, {tsv.package} in TSV")

    def both_ways(kind, ours, theirs, each):
        for name in theirs:
            if name not in ours:
                problems.append(f"{kind} {short(name, pkg)}: missing in api.proto")
        for name in ours:
            if name not in theirs:
                problems.append(f"{kind} {short(name, pkg)}: in api.proto but not in TSV")
            elif each is not None:
                each(name, ours[name], theirs[name])

    def differ(what, name, attribute, p, t):
        if p != t:
            problems.append(f"{what} {short(name, pkg)}: {attribute} {p} in api.proto, "
                            f"{t} in TSV")

    def check_service(service, p_rpcs, t_rpcs):
        def check_rpc(rpc, p, t):
            p_in, p_out, p_server, p_client = p
            t_in, t_out, t_server, _ = t
            differ("rpc", rpc, "input", short(p_in, pkg), short(t_in, pkg))
            differ("rpc", rpc, "output", short(p_out, pkg), short(t_out, pkg))
            differ("rpc", rpc, "server streaming", yes_no(p_server), yes_no(t_server))
            if p_client:
                problems.append(f"rpc {short(rpc, pkg)}: client streaming in api.proto, "
                                "the TSV has no client-streaming rpcs")
        both_ways("rpc", {f"{service}.{k}": v for k, v in p_rpcs.items()},
                  {f"{service}.{k}": v for k, v in t_rpcs.items()}, check_rpc)

    def check_message(message, p_fields, t_fields):
        def check_field(field, p, t):
            differ("field", field, "number", p[0], t[0])
            differ("field", field, "type", short_type(p[1], pkg), short_type(t[1], pkg))
            differ("field", field, "label", p[2], t[2])
        both_ways("field", {f"{message}.{k}": v for k, v in p_fields.items()},
                  {f"{message}.{k}": v for k, v in t_fields.items()}, check_field)

    def check_enum(enum, p_values, t_values):
        def check_value(value, p, t):
            differ("enum value", value, "number", p, t)
        both_ways("enum value", {f"{enum}.{k}": v for k, v in p_values.items()},
                  {f"{enum}.{k}": v for k, v in t_values.items()}, check_value)

    both_ways("service", proto.services, tsv.services, check_service)
    both_ways("message", proto.messages, tsv.messages, check_message)
    both_ways("enum", proto.enums, tsv.enums, check_enum)
    return problems


def check(proto_path, tsv_path):
    """Compares the .proto at proto_path with the TSV; returns a list of problems.

    An empty list means they agree.
    """
    tsv, problems = load_tsv(tsv_path)
    with tempfile.TemporaryDirectory() as workdir:
        descriptor = Path(workdir) / "api.desc"
        error = compile_proto(proto_path, descriptor)
        if error is not None:
            return problems + [f"protoc failed on {Path(proto_path).name}:\n{error}"]
        proto, more = load_descriptor(descriptor)
    return problems + more + compare(proto, tsv)


def report(problems):
    return f"{len(problems)} problem(s):\n" + "\n".join(problems)


# --- tests -----------------------------------------------------------------

def test_api_proto_matches_in_repo_tsv(tmp_path):
    problems = check(PROTO, TSV)
    assert not problems, report(problems)


def test_api_proto_matches_shared_tsv(tmp_path):
    if not SHARED_TSV.exists():
        pytest.skip("../shared/spec/cri-runtime-v1.tsv not present; "
                    "checked against the in-repo copy only")
    problems = check(PROTO, SHARED_TSV)
    assert not problems, report(problems)


def test_in_repo_tsv_is_exact_copy_of_shared():
    if not SHARED_TSV.exists():
        pytest.skip("../shared/spec/cri-runtime-v1.tsv not present; "
                    "checked against the in-repo copy only")
    assert TSV.read_bytes() == SHARED_TSV.read_bytes(), (
        f"{TSV.relative_to(REPO)} differs from {SHARED_TSV}: copy the shared one over "
        "it, then re-check api.proto")


def test_tsv_shape():
    """Facts the test itself relies on: the TSV reads cleanly and is not empty."""
    tsv, problems = load_tsv(TSV)
    assert not problems, report(problems)
    assert tsv.syntax == "proto3" and tsv.package == "runtime.v1"
    assert tsv.services and tsv.messages and tsv.enums


def test_generator_output_matches_tsv(tmp_path):
    """gen-api-proto.py still produces a correct file, the same on every run."""
    outs = []
    for run in (1, 2):
        out = tmp_path / f"run{run}" / "api.proto"
        out.parent.mkdir()
        subprocess.run([sys.executable, str(GENERATOR), str(TSV), str(out)], check=True)
        outs.append(out)
    assert outs[0].read_bytes() == outs[1].read_bytes(), "generator output is not deterministic"
    problems = check(outs[0], TSV)
    assert not problems, report(problems)


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_protoc_c_output_compiles(tmp_path, cc):
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    gen = subprocess.run(["protoc-c", f"--c_out={tmp_path}", "-I.", PROTO.name],
                         cwd=PROTO.parent, capture_output=True, text=True)
    assert gen.returncode == 0, f"protoc-c failed:\n{gen.stderr}"
    source = tmp_path / "api.pb-c.c"
    assert source.exists() and (tmp_path / "api.pb-c.h").exists()
    build = subprocess.run([cc, *C_FLAGS, f"-I{tmp_path}", "-c", str(source),
                            "-o", str(tmp_path / "api.pb-c.o")],
                           capture_output=True, text=True)
    assert build.returncode == 0, f"{cc} {' '.join(C_FLAGS)} failed:\n{build.stderr}"


# --- the checker can fail ------------------------------------------------------

def edit_in(text, block, old, new):
    """Replaces the first `old` inside `block` (e.g. "message Mount {")."""
    start = text.index(block + "\n")
    end = text.index("\n}", start) + 1
    at = text.index(old, start, end)
    return text[:at] + new + text[at + len(old):]


MUTATIONS = [
    ("wrong field number",
     lambda t: edit_in(t, "message PodSandboxConfig {", "string hostname = 2;",
                       "string hostname = 42;"),
     "field PodSandboxConfig.hostname: number 42 in api.proto, 2 in TSV"),
    ("missing enum value",
     lambda t: edit_in(t, "enum Signal {", "  SIGRTMAX = 65;\n", ""),
     "enum value Signal.SIGRTMAX: missing in api.proto"),
    ("extra enum value",
     lambda t: edit_in(t, "enum Protocol {", "SCTP = 2;", "SCTP = 2;\n  QUIC = 3;"),
     "enum value Protocol.QUIC: in api.proto but not in TSV"),
    ("wrong nested enum value number",
     lambda t: edit_in(t, "message SecurityProfile {", "Localhost = 2;", "Localhost = 3;"),
     "enum value SecurityProfile.ProfileType.Localhost: number 3 in api.proto, 2 in TSV"),
    ("wrong scalar type",
     lambda t: edit_in(t, "message PodSandboxConfig {", "string hostname = 2;",
                       "bytes hostname = 2;"),
     "field PodSandboxConfig.hostname: type bytes in api.proto, string in TSV"),
    ("wrong message type",
     lambda t: edit_in(t, "message Mount {", "ImageSpec image = 9;", "ImageFilter image = 9;"),
     "field Mount.image: type ImageFilter in api.proto, ImageSpec in TSV"),
    ("wrong map value type",
     lambda t: edit_in(t, "message PodSandboxConfig {", "map<string, string> labels = 6;",
                       "map<string, bytes> labels = 6;"),
     "field PodSandboxConfig.labels: type map<string,bytes> in api.proto, "
     "map<string,string> in TSV"),
    ("map turned into a repeated message",
     lambda t: edit_in(t, "message PodSandboxConfig {", "map<string, string> labels = 6;",
                       "repeated KeyValue labels = 6;"),
     "field PodSandboxConfig.labels: type KeyValue in api.proto, map<string,string> in TSV"),
    ("repeated dropped",
     lambda t: edit_in(t, "message DNSConfig {", "repeated string servers = 1;",
                       "string servers = 1;"),
     "field DNSConfig.servers: label singular in api.proto, repeated in TSV"),
    ("proto3 optional added",
     lambda t: edit_in(t, "message PodSandboxConfig {", "string hostname = 2;",
                       "optional string hostname = 2;"),
     "field PodSandboxConfig.hostname: label optional in api.proto, singular in TSV"),
    ("field renamed",
     lambda t: edit_in(t, "message PodSandboxConfig {", "string hostname = 2;",
                       "string host_name = 2;"),
     "field PodSandboxConfig.hostname: missing in api.proto"),
    ("extra field",
     lambda t: edit_in(t, "message DNSConfig {", "repeated string options = 3;",
                       "repeated string options = 3;\n  string extra = 4;"),
     "field DNSConfig.extra: in api.proto but not in TSV"),
    ("server streaming dropped",
     lambda t: t.replace("returns (stream StreamImagesResponse)", "returns (StreamImagesResponse)"),
     "rpc ImageService.StreamImages: server streaming no in api.proto, yes in TSV"),
    ("client streaming added",
     lambda t: t.replace("rpc Version(VersionRequest)", "rpc Version(stream VersionRequest)"),
     "rpc RuntimeService.Version: client streaming in api.proto"),
    ("wrong rpc input",
     lambda t: t.replace("rpc Version(VersionRequest)", "rpc Version(StatusRequest)"),
     "rpc RuntimeService.Version: input StatusRequest in api.proto, VersionRequest in TSV"),
    ("rpc removed",
     lambda t: re.sub(r"\n[^\n]*rpc ImageFsInfo\([^\n]*", "", t),
     "rpc ImageService.ImageFsInfo: missing in api.proto"),
    ("message removed",
     lambda t: re.sub(r"\bInt64Value\b", "UInt64Value",
                      re.sub(r"\nmessage Int64Value \{[^}]*\}\n", "\n", t)),
     "message Int64Value: missing in api.proto"),
    ("message added",
     lambda t: t + "\nmessage Spare {\n  string name = 1;\n}\n",
     "message Spare: in api.proto but not in TSV"),
    ("does not compile",
     lambda t: edit_in(t, "message DNSConfig {", "repeated string options = 3;",
                       "repeated string options = 1;"),
     "protoc failed"),
]


@pytest.mark.parametrize("mutate,expected", [(m, e) for _, m, e in MUTATIONS],
                         ids=[name for name, _, _ in MUTATIONS])
def test_checker_reports_mutation(tmp_path, mutate, expected):
    original = PROTO.read_text(encoding="utf-8")
    changed = mutate(original)
    assert changed != original, "the mutation did not change api.proto: update the test"
    (tmp_path / "api.proto").write_text(changed, encoding="utf-8")
    problems = check(tmp_path / "api.proto", TSV)
    assert any(expected in p for p in problems), (
        f"expected a problem containing {expected!r}, got:\n" + "\n".join(problems))


def test_checker_reports_tsv_change(tmp_path):
    """The other direction: the TSV moved, api.proto did not."""
    text = TSV.read_text(encoding="utf-8")
    old = "field\tPodSandboxConfig\thostname\t2\tstring\tsingular\n"
    assert old in text
    tsv = tmp_path / "cri.tsv"
    tsv.write_text(text.replace(old, old.replace("\t2\t", "\t44\t")), encoding="utf-8")
    problems = check(PROTO, tsv)
    assert problems == ["field PodSandboxConfig.hostname: number 2 in api.proto, 44 in TSV"]
