"""rtcheck: radiotherapy (SBRT) plan checking.

Load DICOM-RT exports (:mod:`rtcheck.dicom`), compute dose-volume histograms and
BED/EQD2 (:mod:`rtcheck.dose`), and derive MEDCARE trial endpoints from dated
patient events (:mod:`rtcheck.events`).
"""

__version__ = "0.1.0"
