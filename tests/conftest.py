"""Test-wide settings: one torch thread. The tests train many small batched networks, which run several
times faster single-threaded than split over this machine's 2 cores (the CLI's --threads default is 1
for the same reason)."""

import torch

torch.set_num_threads(1)
