"""The commands of `python -m verify`, one module per command; `verify.cli` parses and dispatches."""

__all__: list[str] = []
