"""gan: train Generative Adversarial Networks with Keras 3 from shareable YAML recipes.

Importing this package never imports TensorFlow; the heavy modules are imported by the commands that
need them.
"""

__version__ = "0.1.0"
