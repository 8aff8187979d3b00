"""Keys made by openssl, and the two command lines the signature tests compare: ``hub`` and ``model_signing``."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .tools import need


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path


def keypair(folder: Path, name: str) -> KeyPair:
    """A P-256 key pair written by openssl, as a publisher would make one."""
    need("openssl")
    folder.mkdir(parents=True, exist_ok=True)
    private, public = folder / f"{name}.pem", folder / f"{name}.pub"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(private)],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "ec", "-in", str(private), "-pubout", "-out", str(public)], check=True,
                   capture_output=True)
    return KeyPair(private, public)


def certificates(folder: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, leaf key, leaf certificate): a root and a code-signing leaf it issued, made by openssl."""
    need("openssl")
    ca = keypair(folder, "ca")
    leaf = keypair(folder, "leaf")
    ca_cert, leaf_cert, csr, ext = (folder / n for n in ("ca.crt", "leaf.crt", "leaf.csr", "leaf.ext"))

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    ssl("req", "-x509", "-new", "-key", str(ca.private), "-subj", "/CN=hub test root", "-days", "2",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-out", str(ca_cert))
    ssl("req", "-new", "-key", str(leaf.private), "-subj", "/CN=hub test signer", "-out", str(csr))
    ext.write_text("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=codeSigning\n")
    ssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca.private), "-CAcreateserial",
        "-days", "1", "-extfile", str(ext), "-out", str(leaf_cert))
    return ca_cert, leaf.private, leaf_cert


def model_signing(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The ``model_signing`` command line of OpenSSF's package, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "model_signing", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def hub(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The ``hub`` command line in a process of its own (its exit code and message as a user sees them)."""
    return subprocess.run([sys.executable, "-m", "hub_client.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})
