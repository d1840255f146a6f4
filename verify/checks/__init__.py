"""One module per claim family; each registers its claims with `verify.claim.claim`."""

__all__: list[str] = []
