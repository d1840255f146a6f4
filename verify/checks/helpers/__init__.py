"""Helpers shared by the claim modules of `verify.checks` (they define no claim themselves)."""

__all__: list[str] = []
