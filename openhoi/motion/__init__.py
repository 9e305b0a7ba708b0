"""Affordance-conditioned motion diffusion: denoiser, noise schedule and samplers.

The model lands with issue 5; this package exports nothing yet.
"""

__all__: list[str] = []
