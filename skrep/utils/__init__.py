"""Shared helpers: array namespaces, numba kernels, validation, discovery."""
