"""Application Auto Scaling: target tracking and step scaling on the virtual clock."""
