"""The CUDA stand-in (tests/cuda_simulation.py): it raises where real CUDA would and lets the rest through,
and under it every check of the quick profile runs with --device cuda on a machine without a GPU."""

import numpy as np
import pytest
import torch

from tests.cuda_simulation import CUDA, DeviceMisuse, simulated_cuda
from verify.claim import all_claims
from verify.harness import run_claims


def test_tensors_placed_on_cuda_say_so_and_compute_as_on_the_cpu():
    with simulated_cuda():
        a = torch.arange(6.0).reshape(2, 3).to("cuda")
        b = torch.ones(3, 2, device=a.device)
        c = (a @ b).relu_()
        assert a.device == b.device == c.device == CUDA and c.is_cuda
        assert torch.zeros(2).device.type == "cpu"
        assert torch.equal(c.cpu(), torch.tensor([[3.0, 3.0], [12.0, 12.0]]))
        assert c.cpu().numpy().shape == (2, 2)
        a[torch.tensor([True, False])] = 0.0  # a CPU mask may index a CUDA tensor
        assert float((a * torch.tensor(2.0)).sum()) == 24.0  # a 0-dimensional CPU tensor mixes too


@pytest.mark.parametrize(
    "misuse",
    [
        lambda x: x * torch.ones(2, 1),  # a CPU (R, 1) tensor times a CUDA one: the bug R3 once had
        lambda x: torch.ones(2, 3)[x[:, 0] > 0],  # a CPU tensor indexed by a CUDA mask
        lambda x: x.numpy(),
        lambda x: np.asarray(x),
        lambda x: torch.randn(2, generator=torch.Generator().manual_seed(0), device=x.device),
        lambda x: torch.bmm(x.unsqueeze(0), torch.ones(1, 3, 3)),
    ],
)
def test_what_cuda_refuses_raises(misuse):
    with simulated_cuda():
        x = torch.ones(2, 3, device="cuda")
        with pytest.raises(DeviceMisuse):
            misuse(x)


@pytest.mark.slow
def test_every_quick_claim_runs_on_simulated_cuda(tmp_path):
    with simulated_cuda():
        records = run_claims(all_claims(), profile="quick", seed=0, device="cuda", family_rate=1e-3,
                             figures_dir=tmp_path / "figures", echo=False)  # fmt: skip
    failed = {r.claim.id: r.error or r.verdict for r in records if r.verdict != "pass"}
    assert not failed, failed
