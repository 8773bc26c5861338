"""Screens of the security officer: reaffirmation standings and recording (PCI DSS 3.7.8), and the reports."""
