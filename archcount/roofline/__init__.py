"""Bytes and predicted time per op and row: the spied pass, calibrations, presets."""
