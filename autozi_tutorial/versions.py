"""Installed package versions, read from their metadata alone: nothing heavy is imported."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

#: Packages whose versions every result records.
REPORTED_PACKAGES = ("autozi-tutorial", "scvi-tools", "torch", "scanpy", "anndata", "numpy", "scipy")


def package_versions(packages: Sequence[str] = REPORTED_PACKAGES) -> dict[str, str | None]:
    """Installed version of each package, None for one not installed."""
    versions: dict[str, str | None] = {}
    for package in packages:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return versions
