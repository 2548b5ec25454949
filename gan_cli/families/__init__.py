"""GAN families: how a recipe's networks are wired into compiled models and trained step by step.

Each registry maps a recipe's ``family`` to its builder; :mod:`gan_cli.families.interface` states what the built
models offer a training loop.
"""

from __future__ import annotations

from gan_cli.families import cyclegan, gan, pix2pix
from gan_cli.families.interface import GanBuilder, TranslatorBuilder

FAMILIES: dict[str, GanBuilder] = {"gan": gan.build, "cgan": gan.build_conditional, "infogan": gan.build_info}
#: Image-to-image families, called as ``(recipe, shape_a, shape_b, total_steps)``.
TRANSLATORS: dict[str, TranslatorBuilder] = {"pix2pix": pix2pix.build, "cyclegan": cyclegan.build}
