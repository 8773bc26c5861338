"""ceremony: split-knowledge key ceremonies under dual control (PCI DSS 4.0.1 Req. 3.6-3.7)."""

__version__ = "0.1.0"
