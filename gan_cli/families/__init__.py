"""GAN families: how a recipe's networks are wired into compiled models and trained step by step."""

from __future__ import annotations

from gan_cli.families import gan

FAMILIES = {"gan": gan.build, "cgan": gan.build_conditional, "infogan": gan.build_info}
