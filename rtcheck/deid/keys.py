"""Everything ``rtcheck anonymize`` derives from the secret key (HMAC-SHA256, RFC 2104).

* **UIDs**: ``2.25.<integer>``, a UUID (PS3.5 §B.2) built from HMAC(key, uid): the same
  input UID always gives the same output UID, so references between objects (and between
  exports anonymised separately with the same key) still resolve; without the key nobody
  can test a guessed original UID against it.
* **Patient pseudonyms**: PatientID becomes ``anon-<16 hex>``, the same token
  :func:`rtcheck.audit.anonymize.keyed_hash` gives (an audit run with the same key names
  the patient alike); PatientName becomes that token as family name.
* **Date offsets**: a whole number of weeks, 52 to 573 weeks back, per patient — whole
  days keep times of day, whole weeks keep weekdays too (a weekly FractionPattern, no
  treatment on a Sunday, still match the dates).

Each derivation hashes a label with the value (domain separation), so the same key can
serve them all and the audit.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from rtcheck.audit.anonymize import keyed_hash

MIN_OFFSET_WEEKS = 52
OFFSET_SPAN_WEEKS = 522  # offsets are 52 ... 573 weeks (364 ... 4011 days) back
_LABEL = "rtcheck-anonymize"


class KeyedMapper:
    """Keyed, deterministic replacements; UIDs are cached (an RTSTRUCT repeats many)."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._uids: dict[str, str] = {}

    def _mac(self, label: str, value: str) -> bytes:
        message = f"{_LABEL}/{label}\0{value}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def uid(self, original: str) -> str:
        """The replacement of an instance UID: ``2.25.`` + a keyed version-4-form UUID."""
        new = self._uids.get(original)
        if new is None:
            digest = self._mac("uid", original)[:16]
            new = f"2.25.{uuid.UUID(bytes=digest, version=4).int}"
            self._uids[original] = new
        return new

    def date_offset_days(self, patient_key: str) -> int:
        """Days every date of this patient moves back: whole weeks, 364 to 4011 days."""
        value = int.from_bytes(self._mac("date-offset", patient_key)[:8], "big")
        return 7 * (MIN_OFFSET_WEEKS + value % OFFSET_SPAN_WEEKS)

    def patient_id(self, original_id: str) -> str:
        """``anon-<16 hex>``: the audit's keyed hash of the ID (empty stays empty)."""
        return keyed_hash(self._key, original_id) if original_id else ""

    def folder_name(self, name: str) -> str:
        """A neutral name for a folder whose own name identifies someone."""
        return "folder-" + self._mac("folder", name).hex()[:12]
