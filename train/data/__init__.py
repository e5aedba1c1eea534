"""Components that read CIFAR-10: the batches, palettes, and the order images are seen in."""
