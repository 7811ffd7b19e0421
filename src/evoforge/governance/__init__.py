"""Governance: what people decide about a run, and the record of it.

- ``control``: approve, reject, roll back and stop, from the CLI, the dashboard or
  the driver's request folder (all through :func:`control.apply`);
- ``promotion``: the noise-aware promotion rule and its evidence;
- ``run_audit``: the audit log anchored in the archive, and the one audited way
  to promote;
- ``audit``: the hash-chained audit log itself;
- ``rundir``: a run's folder (archive, audit log, stop and request files).

Each module imports only modules listed after it.
"""
