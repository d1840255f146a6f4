"""Where and how a run executes: devices, executors, staged output folders, the manifest."""

__all__: list[str] = []
