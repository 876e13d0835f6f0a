"""asv benchmarks of skrep: one module per skrep module, see ../README.md."""
