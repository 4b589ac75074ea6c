"""`reference`: the runnable companion package of *Video diffusion models, explained and runnable*."""

__version__ = "0.1.0"
