"""pytest helpers for users' own models (the pytest11 plugin lives here)."""
