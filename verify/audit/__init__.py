"""Audit networks trained by someone else's code (`python -m verify audit`, or `audit(...)` in a notebook).

`loading` (files -> weights and data, validated), `subspace` (the data subspace P and the rank tolerance),
`measure` (gradient split, attacks, certificates: the suite's numerics), `decide` (the claims, by the rules
and verdict objects of `verify all`), `api` (the Python entry point and the record), `command` (the CLI).
"""

from verify.audit.api import AuditRecord, audit
from verify.audit.loading import AuditInputError

__all__ = ["AuditInputError", "AuditRecord", "audit"]
