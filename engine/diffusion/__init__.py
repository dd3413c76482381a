"""diffusion capability."""
