"""The counting engine: module-rule and aten-op registries, the rules, tap arithmetic, one prepared run -> Report."""
