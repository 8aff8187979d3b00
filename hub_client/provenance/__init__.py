"""Provenance: OpenSSF model signatures (``model.sig``) and the trust policy that asks for them."""

from .signature import SIGNATURE_FILE, SigningKey, TrustAnchor, read_signed, sign_digests, sign_folder
from .signed import SignedFiles
from .trust import TrustPolicy, TrustRule, load, names_of
from .verification import Verdict, compare, first_holding, skipped, verify_folder

__all__ = [
    "SIGNATURE_FILE", "SignedFiles", "SigningKey", "TrustAnchor", "TrustPolicy", "TrustRule", "Verdict", "compare",
    "first_holding", "load", "names_of", "read_signed", "sign_digests", "sign_folder", "skipped", "verify_folder",
]
