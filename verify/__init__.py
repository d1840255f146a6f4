"""The harness of offsub: one check per claim, decided by a stated statistical rule, and the reports."""

__all__: list[str] = []
