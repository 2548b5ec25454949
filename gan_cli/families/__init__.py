"""GAN families: how a recipe's networks are wired into compiled models and trained step by step."""

from __future__ import annotations

from gan_cli.families import cyclegan, gan, pix2pix

FAMILIES = {"gan": gan.build, "cgan": gan.build_conditional, "infogan": gan.build_info}
#: Image-to-image families, called as ``(recipe, shape_a, shape_b, total_steps)``.
TRANSLATORS = {"pix2pix": pix2pix.build, "cyclegan": cyclegan.build}
