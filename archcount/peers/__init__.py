"""Cross-checks against torchinfo, fvcore and FlopCounterMode, and those peers' conventions."""
