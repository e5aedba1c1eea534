"""Receptive fields: size, jump and offset per spatial dimension, merged over every path."""
