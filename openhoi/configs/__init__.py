"""Hydra configs shipped inside the wheel as `openhoi.configs` (see pyproject.toml)."""
