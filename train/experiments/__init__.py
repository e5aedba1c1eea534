"""Experiments over the training loop: the batch-size sweep and the optimisation theory."""
