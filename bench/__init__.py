"""`python -m verify bench`: the batched trainer against a naive autograd baseline and the machine's peak
matmul rate (its command, the baseline and the FLOP counts); it imports verify's devices and manifest, nothing
of the command line."""

__all__: list[str] = []
