"""Training: what a gan train invocation means (plan), the epoch loop, the GAN and image-to-image trainers, and
smoke runs. Importing this package imports no TensorFlow (plan.py is read by --dry-run and recipe checks)."""
