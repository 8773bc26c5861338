"""The auditor view: a ledger opened read-only, ``verify``'s result first, then the reports (DESIGN §6)."""
