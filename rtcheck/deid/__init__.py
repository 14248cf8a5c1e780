"""De-identification of DICOM-RT exports: ``rtcheck anonymize IN_DIR OUT_DIR``.

PS3.15 Annex E, Basic Application Level Confidentiality Profile, with the options a plan
check needs: dates of each patient moved back by one keyed whole-day offset (Retain
Longitudinal Temporal Information with Modified Dates), UIDs replaced by a keyed,
deterministic mapping (references between RTPLAN, RTDOSE, RTSTRUCT, treatment records
and CT still resolve), private elements removed, PatientName/PatientID replaced by a keyed
pseudonym, structure names and every dosimetric value kept. After writing, the output is
re-read and verified: no original identifier anywhere, links as in the input.

**Library.** The profile's attribute actions (Table E.1-1) come from
`dicom-anonymizer <https://github.com/KitwareMedical/dicom-anonymizer>`_ (Kitware; its
tables are generated from the standard, ``dicomfields_2026c`` = PS3.15 2026c). Compared
(November 2026, with pydicom 3.0 and ``-W error``):

* **dicognito** 0.19 — works with pydicom 3 under ``-W error``, deterministic with a seed,
  walks nested sequences, keeps ROI names; but it is not Table E.1-1: it replaces PN, UI,
  some IDs, addresses and dates and leaves descriptions, comments, other free text and
  private elements alone (we would have had to write the profile's X/Z list ourselves,
  which the issue rules out). Its date offset is one per seed (not per patient), in whole
  hours, applied to each date *and* its time (08:30 becomes 20:30 — intervals survive,
  times of day do not); the seed is prepended to the value under MD5, not an HMAC.
* **deid** 0.4.13 — a recipe language (pydicom's own project); its default recipe is not
  the Annex E table either and removes every UID, date and time (no links, no fraction
  times), so a full RT recipe would be ours to write and maintain; and ``import
  deid.dicom`` raises a DeprecationWarning under pydicom 3 (it imports
  ``pydicom.pixel_data_handlers``), which fails a suite run with ``filterwarnings=error``.
* **dicom-anonymizer** 2.1 — *the* Table E.1-1, per edition of the standard, as data
  (X, Z, D, U, X/Z, X/D, X/Z/D, Z/D, X/Z/U*) with dummy values per VR; pure Python,
  depends on pydicom and tqdm only, imports cleanly under ``-W error``. Its weak points
  are ones rtcheck replaces anyway: its anonymiser only visits top-level elements, its UIDs
  are random (not deterministic), its dates become 00010101. rtcheck therefore uses its
  table and its D/Z values, and walks every element itself (:mod:`.transform`).

Modules: :mod:`.profile` (the table and rtcheck's RT options), :mod:`.keys` (everything
derived from the key), :mod:`.transform` (one dataset), :mod:`.sources` (reading the
input, patients), :mod:`.identifiers` (what is searched for), :mod:`.verify` (the
scan and the link comparison), :mod:`.output` (paths, temporary folder, patient map),
:mod:`.run` (:func:`anonymize_tree`).
"""

from rtcheck.deid.run import AnonymizeResult, VerificationError, anonymize_tree

__all__ = ["AnonymizeResult", "VerificationError", "anonymize_tree"]
