"""Training cost: backward multiply-adds per layer, bytes saved for backward, optimizer state,
an estimated peak for one step, the largest batch that fits; from one forward, no backward."""
