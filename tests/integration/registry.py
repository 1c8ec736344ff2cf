"""Local OCI registries and test images for the integration tests.

Reusable by any test that needs a registry (the image service, critest-like
pulls). Everything lives under a temporary directory and every process is
stopped by its PID, also when a test fails.

Registries: Debian's `docker-registry` (the CNCF distribution registry) on
127.0.0.1 with a free port, in four flavours:

    with start_registry(tmp) as reg: ...                       plain HTTP
    with start_registry(tmp, tls=True) as reg: ...             HTTPS, own CA
    with start_registry(tmp, basic=("user", "pw")) as reg: ... htpasswd Basic auth
    with start_registry(tmp, token=True, ...) as reg: ...      Bearer tokens from an
                                                               in-process TokenServer
    with start_registry(tmp, tls=True, client_cert=True) ...   HTTPS demanding a client
                                                               certificate (in certs_dir)

`reg.host` is "127.0.0.1:PORT"; `reg.certs_dir` is a containers-certs.d(5)
directory holding the CA for reg.host (HTTPS only); `reg.creds` the
(user, password) pair or None; `reg.token_server` the TokenServer.

Images: `Images(tmp)` builds OCI layouts from Debian's busybox-static with
umoci, and `reg.push(image, "name:tag")` pushes one with skopeo and returns
a `Pushed` record of the digests as the registry serves them:

    images = Images(tmp)
    pushed = reg.push(images.single_layer(), "test/busybox:1")
    pushed = reg.push(images.multi_layer(3), "test/multi:1")
    pushed = reg.push(images.multi_arch(), "test/multiarch:1")     # OCI index
    pushed = reg.push(images.single_layer(), "test/v2s2:1", docker_v2s2=True)
    pushed = reg.push(images.single_layer(files={"/etc/passwd": b"u:x:1000:1000::/:/bin/sh\n"},
                                          user="1000:1000"), "test/user:1")
    # files also take Symlink(target) and Sparse(size); cmd=None leaves no Cmd

`FakeServer` is a tiny threaded HTTP server whose answers a test scripts,
for misbehaving-registry tests; it records every request it gets.
"""
import base64
import contextlib
import datetime
import hashlib
import http.server
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

REGISTRY_BIN = "/usr/bin/docker-registry"
BUSYBOX = "/bin/busybox"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
SERVICE = "brig-test-registry"
ISSUER = "brig-test-issuer"


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- certificates -----------------------------------------------------------

def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(key, path):
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))


def _write_cert(cert, path):
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_ca(directory, cn="brig test CA"):
    """A self-signed CA: returns (key, cert) and writes ca.key/ca.crt."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder()
            .subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    _write_key(key, Path(directory) / "ca.key")
    _write_cert(cert, Path(directory) / "ca.crt")
    return key, cert


def make_cert(directory, stem, ca_key, ca_cert, ip="127.0.0.1", client=False):
    """A certificate signed by the CA: for a server at ip, or (client=True) a
    client certificate. Writes <stem>.key and <stem>.crt and returns their paths."""
    import ipaddress
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.utcnow()
    builder = (x509.CertificateBuilder()
               .subject_name(_name("brig test client" if client else ip))
               .issuer_name(ca_cert.subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=30)))
    if client:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    else:
        builder = (builder
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
                   .add_extension(x509.ExtendedKeyUsage(
                       [x509.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    cert = builder.sign(ca_key, hashes.SHA256())
    key_path, cert_path = Path(directory) / f"{stem}.key", Path(directory) / f"{stem}.crt"
    _write_key(key, key_path)
    _write_cert(cert, cert_path)
    return key_path, cert_path


# --- token server -----------------------------------------------------------

def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """Docker token authentication server (RS256 JWTs) for docker-registry.

    GET  /token?service=&scope=...  Basic credentials checked when `creds` is set
    POST /token  grant_type=refresh_token&refresh_token=...  (OAuth2 refresh)

    `hits` counts token requests; `requests` records (method, path, headers,
    form) of each. `expires_in` is put in every answer.
    """

    def __init__(self, directory, creds=None, refresh_token=None, expires_in=300):
        self.directory = Path(directory)
        self.creds = creds
        self.refresh_token = refresh_token
        self.expires_in = expires_in
        self.hits = 0
        self.requests = []
        self.lock = threading.Lock()
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.datetime.utcnow()
        self.cert = (x509.CertificateBuilder()
                     .subject_name(_name("brig token signer")).issuer_name(_name("brig token signer"))
                     .public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.bundle = self.directory / "token-signer.crt"
        _write_cert(self.cert, self.bundle)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=STOP_TIMEOUT)

    def make_token(self, scopes, subject="anonymous"):
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) < 3:
                continue
            access.append({"type": parts[0], "name": ":".join(parts[1:-1]),
                           "actions": parts[-1].split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256",
                  "x5c": [base64.b64encode(self.cert.public_bytes(
                      serialization.Encoding.DER)).decode()]}
        claims = {"iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + self.expires_in,
                  "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(), "access": access}
        signing_input = (_b64url(json.dumps(header).encode()) + "." +
                         _b64url(json.dumps(claims).encode()))
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(signature)

    def _handler(self):
        ts = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self):
                if ts.creds is None:
                    return True, "anonymous"
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Basic "):
                    return False, None
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                return (user, password) == tuple(ts.creds), user

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query)
                with ts.lock:
                    ts.hits += 1
                    ts.requests.append(("GET", self.path, dict(self.headers), query))
                ok, user = self._authorized()
                if url.path != "/token" or not ok:
                    return self._answer(401, {"errors": [{"code": "UNAUTHORIZED",
                                                          "message": "bad credentials"}]})
                issued = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
                self._answer(200, {"token": ts.make_token(query.get("scope", []), user),
                                   "expires_in": ts.expires_in, "issued_at": issued})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                with ts.lock:
                    ts.hits += 1
                    ts.requests.append(("POST", self.path, dict(self.headers), form))
                if (form.get("grant_type") != ["refresh_token"] or ts.refresh_token is None
                        or form.get("refresh_token") != [ts.refresh_token]):
                    return self._answer(401, {"error": "invalid_grant"})
                self._answer(200, {"access_token": ts.make_token(form.get("scope", []),
                                                                 "oauth"),
                                   "refresh_token": ts.refresh_token,
                                   "expires_in": ts.expires_in})

        return Handler


# --- the registry -----------------------------------------------------------

@dataclass
class Pushed:
    """What the registry serves for a pushed image."""
    reference: str                 # "name:tag"
    digest: str                    # of the top manifest (index or image manifest)
    media_type: str
    manifest: dict
    layers: list = field(default_factory=list)   # [(digest, size)] of the top image manifest
    config: tuple = None                          # (digest, size)
    children: list = field(default_factory=list)  # for an index: [Pushed] per platform

    @property
    def blobs(self):
        """Every (digest, size) the image needs, children's included, without repeats."""
        seen = []
        for image in [self] + self.children:
            for blob in ([image.config] if image.config else []) + image.layers:
                if blob not in seen:
                    seen.append(blob)
        return seen


class Registry:
    def __init__(self, directory, tls=False, basic=None, token=None, client_cert=False):
        self.directory = Path(directory)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.scheme = "https" if tls else "http"
        self.url = f"{self.scheme}://{self.host}"
        self.creds = tuple(basic) if basic else (tuple(token.creds) if token and token.creds
                                                 else None)
        self.token_server = token
        self.certs_dir = None
        self.ca_cert = None
        self.proc = None
        self.log = self.directory / "registry.log"
        config = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.directory / "data")},
                        "delete": {"enabled": True}},
            "http": {"addr": self.host, "secret": os.urandom(16).hex()},
            "health": {"storagedriver": {"enabled": False}},
        }
        if tls:
            ca_key, ca_cert = make_ca(self.directory)
            key, cert = make_cert(self.directory, "server", ca_key, ca_cert)
            config["http"]["tls"] = {"certificate": str(cert), "key": str(key)}
            self.ca_cert = self.directory / "ca.crt"
            self.certs_dir = self.directory / "certs.d"
            (self.certs_dir / self.host).mkdir(parents=True)
            shutil.copy(self.ca_cert, self.certs_dir / self.host / "ca.crt")
        if tls and client_cert:
            # The registry demands a client certificate signed by its own
            # client CA; certs.d gets client.cert + client.key for it.
            client_dir = self.directory / "client-ca"
            client_dir.mkdir()
            cca_key, cca_cert = make_ca(client_dir, "brig test client CA")
            config["http"]["tls"]["clientcas"] = [str(client_dir / "ca.crt")]
            key, cert = make_cert(client_dir, "client", cca_key, cca_cert, client=True)
            shutil.copy(cert, self.certs_dir / self.host / "client.cert")
            shutil.copy(key, self.certs_dir / self.host / "client.key")
        if basic:
            htpasswd = self.directory / "htpasswd"
            out = subprocess.run(["htpasswd", "-Bbn", basic[0], basic[1]], check=True,
                                 capture_output=True, text=True).stdout
            htpasswd.write_text(out)
            config["auth"] = {"htpasswd": {"realm": "brig-basic", "path": str(htpasswd)}}
        if token:
            config["auth"] = {"token": {"realm": token.realm, "service": SERVICE,
                                        "issuer": ISSUER, "rootcertbundle": str(token.bundle)}}
        self.config = self.directory / "config.yml"
        # JSON is YAML: no YAML writer needed.
        self.config.write_text(json.dumps(config, indent=1))
        self.policy = self.directory / "policy.json"
        self.policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))

    def start(self):
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(self.config)],
                                         stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if self.certs_dir and (self.certs_dir / self.host / "client.cert").exists():
            ctx.load_cert_chain(self.certs_dir / self.host / "client.cert",
                                self.certs_dir / self.host / "client.key")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.url}/v2/", timeout=1, context=ctx)
                return self
            except urllib.error.HTTPError:
                return self  # 401: up, and asking for credentials
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"docker-registry did not answer on {self.url}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def _creds_args(self, flag):
        return [flag, f"{self.creds[0]}:{self.creds[1]}"] if self.creds else []

    def skopeo(self, *args):
        return subprocess.run(["skopeo", "--policy", str(self.policy), *args], check=True,
                              capture_output=True, timeout=300)

    def raw_manifest(self, ref):
        """The manifest bytes the registry serves for name:tag or name@digest."""
        return self.skopeo("inspect", "--raw", "--tls-verify=false",
                           *self._creds_args("--creds"), f"docker://{self.host}/{ref}").stdout

    def _describe(self, ref, name):
        raw = self.raw_manifest(ref)
        doc = json.loads(raw)
        # mediaType is optional in OCI manifests (umoci leaves it out).
        media_type = doc.get("mediaType") or (
            "application/vnd.oci.image.index.v1+json" if "manifests" in doc
            else "application/vnd.oci.image.manifest.v1+json")
        p = Pushed(reference=ref, digest=sha256_digest(raw), media_type=media_type,
                   manifest=doc)
        if "manifests" in doc:
            p.children = [self._describe(f"{name}@{m['digest']}", name)
                          for m in doc["manifests"]]
        else:
            p.config = (doc["config"]["digest"], doc["config"]["size"])
            p.layers = [(layer["digest"], layer["size"]) for layer in doc["layers"]]
        return p

    def push(self, image, ref, docker_v2s2=False):
        """Pushes an Image (OCI layout + tag) as ref ("name:tag")."""
        args = ["copy", "-q", "--dest-tls-verify=false", *self._creds_args("--dest-creds")]
        if docker_v2s2:
            args += ["--format", "v2s2"]
        if image.index:
            args += ["--all"]
        self.skopeo(*args, f"oci:{image.layout}:{image.tag}", f"docker://{self.host}/{ref}")
        return self._describe(ref, ref.rsplit(":", 1)[0])


@contextlib.contextmanager
def start_registry(directory, tls=False, basic=None, token=False, token_creds=None,
                   refresh_token=None, expires_in=300, client_cert=False):
    """A running docker-registry (see the module docstring); stopped on exit."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ts = None
    reg = None
    try:
        if token:
            ts = TokenServer(directory, creds=token_creds, refresh_token=refresh_token,
                             expires_in=expires_in)
        reg = Registry(directory, tls=tls, basic=basic, token=ts, client_cert=client_cert)
        reg.start()
        yield reg
    finally:
        if reg:
            reg.stop()
        if ts:
            ts.stop()


# --- images -----------------------------------------------------------------

@dataclass
class Image:
    layout: Path
    tag: str
    index: bool = False


@dataclass
class Symlink:
    """An Images file entry: a symbolic link to target."""
    target: str


@dataclass
class Sparse:
    """An Images file entry: size bytes of zeros, sparse on disk, so a large
    file costs the test neither disk nor (gzip'd) registry space."""
    size: int


def _put(root, path, content):
    dest = Path(root) / path.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, Symlink):
        os.symlink(content.target, dest)
    elif isinstance(content, Sparse):
        with open(dest, "wb") as f:
            f.truncate(content.size)
    else:
        dest.write_bytes(content)


class Images:
    """Builds small images from busybox-static into one OCI layout."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.layout = self.directory / "layout"
        self.count = 0
        if not self.layout.exists():
            self._umoci("init", "--layout", str(self.layout))

    def _umoci(self, *args):
        subprocess.run(["umoci", *args], check=True, capture_output=True, timeout=120)

    def _tag(self, prefix):
        self.count += 1
        return f"{prefix}{self.count}"

    def _new(self, tag, arch="amd64", files=None, user=None, cmd=("sh",)):
        ref = f"{self.layout}:{tag}"
        self._umoci("new", "--image", ref)
        bundle = self.directory / f"bundle-{tag}"
        self._umoci("unpack", "--image", ref, str(bundle))
        root = bundle / "rootfs"
        (root / "bin").mkdir(parents=True, exist_ok=True)
        shutil.copy(BUSYBOX, root / "bin" / "busybox")
        os.symlink("busybox", root / "bin" / "sh")
        for path, content in (files or {}).items():
            _put(root, path, content)
        self._umoci("repack", "--image", ref, str(bundle))
        shutil.rmtree(bundle)
        config = ["--os", "linux", "--architecture", arch]
        # umoci new leaves Entrypoint and Cmd unset: cmd=None keeps it so
        for word in cmd or ():
            config += ["--config.cmd", word]
        if user is not None:
            config += ["--config.user", user]
        self._umoci("config", "--image", ref, *config)
        return ref

    def single_layer(self, files=None, user=None, cmd=("sh",)):
        """busybox and sh, plus files ({path in the image: bytes, Symlink or
        Sparse}); user is the config's User, cmd its Cmd (None: no Cmd)."""
        tag = self._tag("single")
        self._new(tag, files=files, user=user, cmd=cmd)
        return Image(self.layout, tag)

    def multi_layer(self, layers=3):
        """busybox plus layers-1 layers of one random file each."""
        tag = self._tag("multi")
        ref = self._new(tag)
        for i in range(1, layers):
            src = self.directory / f"{tag}-file{i}"
            src.write_bytes(os.urandom(4096 * i))
            self._umoci("insert", "--image", ref, str(src), f"/data/file{i}")
        return Image(self.layout, tag)

    def _blob(self, data):
        digest = sha256_digest(data)
        path = self.layout / "blobs" / "sha256" / digest.split(":")[1]
        path.write_bytes(data)
        return {"digest": digest, "size": len(data)}

    def _read_blob(self, digest):
        return (self.layout / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()

    def multi_arch(self):
        """An OCI index of linux/amd64 and linux/arm64; the arm64 image is the
        amd64 one with another architecture in its config."""
        tag = self._tag("multiarch")
        amd_tag = f"{tag}-amd64"
        self._new(amd_tag)
        index = json.loads((self.layout / "index.json").read_text())
        amd = next(m for m in index["manifests"]
                   if m.get("annotations", {}).get("org.opencontainers.image.ref.name")
                   == amd_tag)
        manifest = json.loads(self._read_blob(amd["digest"]))
        config = json.loads(self._read_blob(manifest["config"]["digest"]))
        config["architecture"] = "arm64"
        arm_manifest = dict(manifest)
        arm_manifest["config"] = dict(manifest["config"], **self._blob(
            json.dumps(config).encode()))
        arm = self._blob(json.dumps(arm_manifest).encode())
        mt = "application/vnd.oci.image.manifest.v1+json"
        top = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
               "manifests": [
                   {"mediaType": mt, "digest": amd["digest"], "size": amd["size"],
                    "platform": {"architecture": "amd64", "os": "linux"}},
                   dict(mediaType=mt, platform={"architecture": "arm64", "os": "linux"}, **arm)]}
        desc = self._blob(json.dumps(top).encode())
        index["manifests"].append(dict(
            mediaType="application/vnd.oci.image.index.v1+json",
            annotations={"org.opencontainers.image.ref.name": tag}, **desc))
        (self.layout / "index.json").write_text(json.dumps(index))
        return Image(self.layout, tag, index=True)


# --- scripted HTTP server ---------------------------------------------------

@dataclass
class Seen:
    method: str
    path: str
    headers: dict


class FakeServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 that answers with handler(req, seen).

    handler gets the BaseHTTPRequestHandler (to write any answer, or to close
    the connection abruptly) and the list of requests so far. `requests`
    records every request as Seen(method, path, headers).
    """

    def __init__(self, handler, tls=None):
        """tls: (certificate, key) paths to serve HTTPS instead of HTTP."""
        self.requests = []
        self.lock = threading.Lock()
        fs = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with fs.lock:
                    fs.requests.append(Seen("GET", self.path, dict(self.headers)))
                    seen = list(fs.requests)
                handler(self, seen)

            do_POST = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*map(str, tls))
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"{'https' if tls else 'http'}://{self.host}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=STOP_TIMEOUT)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def send(req, status, body=b"", headers=None):
    """Writes a complete answer on a FakeServer request."""
    req.send_response(status)
    for name, value in (headers or {}).items():
        req.send_header(name, value)
    if not any(k.lower() == "content-length" for k in (headers or {})):
        req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    if body and req.command != "HEAD":
        req.wfile.write(body)
