"""Throwaway TLS material for the loopback test servers.

The tests connect to 127.0.0.1 with certificate *and* hostname checks switched on, exactly as
responder does in production, so the server certificate must be signed by a CA the test can
trust and must name both IP:127.0.0.1 and DNS:localhost. The `openssl` CLI makes them, so no
extra Python package is needed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple


class TlsFiles(NamedTuple):
    """Paths of a test CA certificate and of a server certificate/key it signed."""

    ca_file: Path
    cert_file: Path
    key_file: Path


# subjectKeyIdentifier/authorityKeyIdentifier and keyUsage keep the chain valid under the
# stricter X.509 checks newer Pythons turn on by default (VERIFY_X509_STRICT).
_CA_EXTENSIONS = """\
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""

_SERVER_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""


def make_tls_files(folder: Path | str) -> TlsFiles:
    """Create (or reuse, if already there) a CA and a 127.0.0.1/localhost server certificate.

    Reusing lets several fixtures or a re-run share one folder without paying for new keys.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    if all(path.exists() for path in files):
        return files
    if shutil.which("openssl") is None:
        raise RuntimeError("the openssl command is needed to make test certificates")
    ca_key = folder / "ca.key"
    _make_ca(folder, ca_key, files.ca_file)
    _make_server_cert(folder, ca_key, files)
    return files


def _make_ca(folder: Path, ca_key: Path, ca_file: Path) -> None:
    """Self-signed CA; EC P-256 because it is generated in milliseconds, unlike RSA."""
    _openssl("req", "-x509", "-new", "-nodes", "-newkey", "ec",
             "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-keyout", ca_key, "-out", ca_file, "-days", "3650",
             "-subj", "/CN=responder test CA",
             "-config", _minimal_config(folder), "-extensions", "v3_ca")


def _make_server_cert(folder: Path, ca_key: Path, files: TlsFiles) -> None:
    """Key + CSR, then sign with the CA adding the SANs clients check against."""
    csr = folder / "server.csr"
    ext = folder / "server.ext"
    ext.write_text(_SERVER_EXTENSIONS)
    _openssl("req", "-new", "-nodes", "-newkey", "ec",
             "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-keyout", files.key_file, "-out", csr, "-subj", "/CN=localhost",
             "-config", _minimal_config(folder))
    _openssl("x509", "-req", "-in", csr, "-CA", files.ca_file, "-CAkey", ca_key,
             "-set_serial", "2", "-days", "3650", "-out", files.cert_file,
             "-extfile", ext)


def _minimal_config(folder: Path) -> Path:
    """An openssl.cnf of our own, so a distro's config (or a missing one) cannot interfere."""
    config = folder / "openssl.cnf"
    config.write_text(
        "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n"
        "[v3_ca]\n" + _CA_EXTENSIONS
    )
    return config


def _openssl(*args: object) -> None:
    """Run openssl, surfacing its stderr in the exception because a bare exit code says nothing."""
    result = subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")
