"""The counting engine: module and aten-op rule registries, tap arithmetic, one run -> Report."""
