"""The server's Ed25519 key that signs the head of each review's audit trail.

The private key is a PKCS#8 PEM file, mode 0600, at ``$GLASSBOX_SIGNING_KEY`` or else
``<workspace>/signing_key.pem``; it is created on first use (written to a temporary file,
then hard-linked into place, so two processes starting at once end up with one key).
A key file that others may read, that is not a regular file or that holds anything but an
Ed25519 private key is refused in one line.

What is signed (`head_message`) is UTF-8 text naming the review, its two files and the
trail's last event: ``glassbox-audit-v1|<review id>|<model sha256>|<data sha256>|<event
id>|<event hash>`` (event id 0 and the genesis hash for an empty trail). The public key's
fingerprint is the SHA-256 (hex) of its 32 raw bytes.

No Streamlit, no database: the store signs with it and ``python -m components verify``
checks with it.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from components.errors import GlassboxError, first_line

KEY_ENV = "GLASSBOX_SIGNING_KEY"
KEY_FILE = "signing_key.pem"  # in the workspace folder unless $GLASSBOX_SIGNING_KEY says
ALGORITHM = "ed25519"
MESSAGE_PREFIX = "glassbox-audit-v1"
MAX_KEY_BYTES = 4096  # an Ed25519 PEM is ~120 bytes; anything far larger is not a key
SIGNATURE_BYTES = 64
PUBLIC_KEY_BYTES = 32


class SigningError(GlassboxError):
    """The signing key cannot be created or read, or a key or signature is malformed."""


@dataclass(frozen=True)
class Signer:
    """The loaded private key (``path`` it came from) and its public half."""

    path: Path
    public_raw: bytes  # 32 bytes
    _private: Ed25519PrivateKey = field(repr=False)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_raw)

    @property
    def public_pem(self) -> str:
        return public_pem(self.public_raw)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self._private.sign(message)


def key_path(root: Path, configured: str | os.PathLike | None = None) -> Path:
    """Where the key lives: ``configured``, else ``$GLASSBOX_SIGNING_KEY``, else
    ``root/signing_key.pem``."""
    chosen = configured or os.environ.get(KEY_ENV, "").strip()
    return Path(chosen).expanduser() if chosen else Path(root) / KEY_FILE


def load_or_create(path: Path, create: bool = True) -> Signer:
    """The key at ``path``, created (mode 0600) if there is none yet and ``create``."""
    path = Path(path)
    if not os.path.lexists(path):
        if not create:
            raise SigningError(f"there is no signing key at {path} yet (the server makes it "
                               f"with the first audit event; {KEY_ENV} names another file)")
        _create(path)
    private = _read_private(path)
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return Signer(path, raw, private)


def fingerprint(public_raw: bytes) -> str:
    """SHA-256 (64 hex digits) of the 32 raw bytes of an Ed25519 public key."""
    return hashlib.sha256(public_raw).hexdigest()


def public_pem(public_raw: bytes) -> str:
    """The public key as PEM text (SubjectPublicKeyInfo, what ``openssl pkey -pubout``
    writes)."""
    key = Ed25519PublicKey.from_public_bytes(public_raw)
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def public_raw_from_pem(text: str | bytes, what: str = "the public key") -> bytes:
    """The 32 raw bytes of an Ed25519 public key given as PEM; `SigningError` otherwise."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else bytes(text)
    if len(data) > MAX_KEY_BYTES:
        raise SigningError(f"{what} is longer than {MAX_KEY_BYTES} bytes: not a PEM key")
    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise SigningError(f"{what} is not a PEM public key ({first_line(err, 80)})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{what} is not an Ed25519 key")
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def head_message(review_id: int, model_sha256: str, data_sha256: str, event_id: int,
                 head_hash: str) -> bytes:
    """The bytes signed for a trail whose last event is ``event_id`` with ``head_hash``."""
    return "|".join([MESSAGE_PREFIX, str(int(review_id)), model_sha256, data_sha256,
                     str(int(event_id)), head_hash]).encode("utf-8")


def signature_valid(public_raw: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is the Ed25519 signature of ``message`` by that key."""
    if len(public_raw) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _create(path: Path) -> None:
    """Write a new key to a private temporary file, then link it to ``path``: readers never
    see a half-written key, and of two processes creating at once the first one wins."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-key-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temp, path)
        except FileExistsError:
            pass  # another process created it first: that key is the one
        finally:
            Path(temp).unlink(missing_ok=True)
    except OSError as err:
        raise SigningError(f"cannot create the signing key {path}: "
                           f"{err.strerror or first_line(err)}") from None


def _read_private(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in ``path``, refused if others may read the file."""
    try:
        info = os.stat(path)  # follows a link: a mounted secret is often one
        if not stat.S_ISREG(info.st_mode):
            raise SigningError(f"the signing key {path} is not a regular file")
        if info.st_mode & 0o077:
            raise SigningError(f"the signing key {path} may be read by others (mode "
                               f"{stat.S_IMODE(info.st_mode):04o}): chmod 600 it")
        if info.st_size > MAX_KEY_BYTES:
            raise SigningError(f"the signing key {path} is over {MAX_KEY_BYTES} bytes: "
                               "not an Ed25519 PEM key")
        data = path.read_bytes()
    except OSError as err:
        raise SigningError(f"cannot read the signing key {path}: "
                           f"{err.strerror or first_line(err)}") from None
    try:
        key = load_pem_private_key(data[:MAX_KEY_BYTES], password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None  # the library's message could quote the file: say it in our words
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"the signing key {path} is not an unencrypted Ed25519 private "
                           "key in PEM")
    return key
