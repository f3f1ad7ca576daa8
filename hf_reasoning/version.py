"""The package version, which is also the generator version recorded in every dataset card
(a module of its own so that any module can import it without importing the package)."""

__version__ = "0.6.0"  # 0.6.0: every completion starts with one space (docs/formats.md)
