"""``--anonymize``: patient identifiers in every audit output become a keyed hash.

The identifiers of a case are read from its own DICOM files (PatientName (0010,0010)
and its name components, PatientID (0010,0020), OtherPatientIDs (0010,1000),
PatientBirthDate (0010,0030) as ``YYYYMMDD`` and ``YYYY-MM-DD``) and every occurrence in
the case's result — report, findings, paths, case key — is replaced by
``anon-<16 hex>``, the HMAC-SHA256 (RFC 2104, FIPS 198-1) of the identifier under a
secret key, truncated to 64 bits. The same identifier gives the same token in every
case of an audit run with the same key (so a patient's plans can still be grouped),
and nobody without the key can test a guessed name or ID against a token.

The key comes from ``--anon-key-file FILE`` or the environment variable
``RTCHECK_ANON_KEY``; the audit refuses to run with ``--anonymize`` and no key, or a key
shorter than 16 bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rtcheck.errors import UsageError

KEY_ENV = "RTCHECK_ANON_KEY"
MIN_KEY_BYTES = 16
_MIN_COMPONENT = 3  # shorter name components (initials, "de") are not replaced alone
_TAGS = ("PatientName", "PatientID", "OtherPatientIDs", "PatientBirthDate")


def load_key(key_file: str | None, *, option: str = "--anon-key-file",
             needed_by: str = "--anonymize") -> bytes:
    """The secret key: the file's bytes (stripped), else ``$RTCHECK_ANON_KEY``.

    ``option`` is the command-line option that names the key file and ``needed_by`` what
    needs the key; both only shape the messages (``rtcheck audit --anonymize`` reads
    ``--anon-key-file``, ``rtcheck anonymize`` reads ``--key``).
    """
    if key_file is not None:
        try:
            key = Path(key_file).read_bytes().strip()
        except OSError as exc:
            raise UsageError(f"{option} {key_file}: cannot read it ({exc.strerror})") \
                from exc
        origin = f"{option} {key_file}"
    else:
        key = os.environ.get(KEY_ENV, "").strip().encode("utf-8")
        origin = f"${KEY_ENV}"
        if not key:
            raise UsageError(f"{needed_by} needs a secret key: set ${KEY_ENV} or give "
                             f"{option} FILE (at least 16 bytes, kept at the hospital)")
    if len(key) < MIN_KEY_BYTES:
        raise UsageError(f"{origin}: the key has {len(key)} bytes; use at least "
                         f"{MIN_KEY_BYTES} random bytes")
    return key


def keyed_hash(key: bytes, value: str) -> str:
    """``anon-`` + the first 16 hex digits of HMAC-SHA256(key, value)."""
    return "anon-" + hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def _values(ds: Any) -> Iterable[str]:
    for keyword in _TAGS:
        value = ds.get(keyword)
        if value is None:
            continue
        items = value if isinstance(value, list | tuple) or type(value).__name__ == \
            "MultiValue" else [value]
        for item in items:
            text = str(item).strip()
            if not text:
                continue
            yield text
            if keyword == "PatientName":
                yield from (p for p in text.replace("=", "^").split("^")
                            if len(p.strip()) >= _MIN_COMPONENT)
                yield text.replace("^", " ").strip()
            if keyword == "PatientBirthDate" and len(text) == 8 and text.isdigit():
                yield f"{text[:4]}-{text[4:6]}-{text[6:]}"


def patient_identifiers(files: Iterable[Path]) -> frozenset[str]:
    """The identifiers found in the header of each readable DICOM file (others skipped)."""
    import pydicom

    found: set[str] = set()
    for path in files:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=True,
                                 specific_tags=list(_TAGS))
        except Exception:
            continue
        found.update(v.strip() for v in _values(ds) if v.strip())
    return frozenset(found)


class Scrubber:
    """Replaces each identifier by its keyed hash in strings, lists and dicts (keys too).

    Longer identifiers are replaced first, so a full name is one token rather than a
    token per component.
    """

    def __init__(self, key: bytes, identifiers: Iterable[str]) -> None:
        ordered = sorted({i for i in identifiers if i}, key=lambda s: (-len(s), s))
        self._pairs = [(i, keyed_hash(key, i)) for i in ordered]

    def text(self, value: str) -> str:
        for ident, token in self._pairs:
            if ident in value:
                value = value.replace(ident, token)
        return value

    def data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.data(v)
                    for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value
