"""Where and how a run executes: devices, executors, staged output folders, the manifest."""
