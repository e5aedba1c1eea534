"""What training costs: backward multiply-adds, bytes saved for backward, optimizer state, peak."""
