"""Zoo recipes: configs, losses, samplers and metrics of each pretrained toy model."""
