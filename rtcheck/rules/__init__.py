"""Protocol rules (YAML schema and evaluation against a plan).

Required by the design card as the home of the protocol check; it holds no code yet.
The constraint data it will evaluate live in ``constraints/`` (``tg101.yaml``); the DVH
metrics they name are parsed by :func:`rtcheck.dose.parse_metric`.
"""
