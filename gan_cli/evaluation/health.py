"""The training-health monitor: warn, with the symptom and the epoch, when training goes wrong.

Symptoms:
- mode collapse: the fixed sample batch's diversity (mean pairwise pixel distance) falls below
  ``health.diversity_ratio`` of real images', or, when the recipe evaluates during training, the
  evaluator's label histogram drifts from the real one (KL(real || fake) above ``health.label_kl``).
  Both wait for ``health.warmup_steps`` (a fresh generator's samples all look alike), except that a
  diversity that falls after having been healthy is flagged at once;
- discriminator saturation (bce, whose D scores are probabilities): D(x) above 0.9 x its real target
  and D(G(z)) below 0.05 for ``health.saturation_steps`` consecutive steps (G then gets almost no gradient);
- non-finite losses (training also stops then).
Warnings never stop training; they are printed and recorded in ``metrics.csv``'s ``health`` column.
"""

from __future__ import annotations

import math

from gan_cli.recipe.schema import HealthSpec

#: D(G(z)) below this counts as the discriminator rejecting every fake.
SATURATED_FAKE_SCORE = 0.05


class HealthMonitor:
    """Watches per-step D scores and per-epoch sample statistics; reports symptoms per epoch.

    Args:
        spec: the recipe's thresholds.
        real_target: D's target for real images (1 - label_smoothing).
        real_diversity: mean pairwise distance of real images, the reference for sample diversity.
    """

    def __init__(self, spec: HealthSpec, real_target: float, real_diversity: float,
                 scores_are_probabilities: bool = True) -> None:
        self.spec = spec
        self.scores_are_probabilities = scores_are_probabilities
        self.real_target = real_target
        self.real_diversity = real_diversity
        self.saturated_steps = 0
        self.longest_saturation = 0
        self.was_diverse = False

    def state(self) -> dict[str, int | bool]:
        """What the monitor has counted so far (saved with each checkpoint, so a resume warns exactly as a
        straight run would)."""
        return {"saturated_steps": self.saturated_steps, "longest_saturation": self.longest_saturation,
                "was_diverse": self.was_diverse}

    def load_state(self, state: dict[str, int | bool]) -> None:
        """Continue from :meth:`state`'s counts."""
        self.saturated_steps = int(state.get("saturated_steps", 0))
        self.longest_saturation = int(state.get("longest_saturation", 0))
        self.was_diverse = bool(state.get("was_diverse", False))

    def observe_step(self, d_real: float, d_fake: float) -> None:
        """Count consecutive saturated steps (only for losses whose D scores are probabilities)."""
        if self.scores_are_probabilities and d_real > 0.9 * self.real_target and d_fake < SATURATED_FAKE_SCORE:
            self.saturated_steps += 1
            self.longest_saturation = max(self.longest_saturation, self.saturated_steps)
        else:
            self.saturated_steps = 0

    def end_epoch(self, losses: tuple[float, float], diversity: float, step: int,
                  label_kl: float | None = None) -> list[str]:
        """Symptoms seen in the epoch that ended at ``step`` (empty when healthy)."""
        symptoms = []
        if not all(math.isfinite(value) for value in losses):
            symptoms.append("non-finite losses")
        low = diversity < self.spec.diversity_ratio * self.real_diversity
        if self.real_diversity > 0 and low and (self.was_diverse or step >= self.spec.warmup_steps):
            symptoms.append(f"mode collapse: sample diversity {diversity:.3f} is "
                            f"{100 * diversity / self.real_diversity:.0f}% of the real images' "
                            f"{self.real_diversity:.3f}")
        if label_kl is not None and label_kl > self.spec.label_kl and step >= self.spec.warmup_steps:
            symptoms.append(f"mode collapse: label histogram KL(real||fake) {label_kl:.3f} > {self.spec.label_kl}")
        if self.longest_saturation >= self.spec.saturation_steps:
            symptoms.append(f"discriminator saturated: D(x) > {0.9 * self.real_target:.2f} and D(G(z)) < "
                            f"{SATURATED_FAKE_SCORE} for {self.longest_saturation} consecutive steps")
        self.longest_saturation = 0  # a run that goes on into the next epoch is counted again there
        self.was_diverse = self.was_diverse or not low
        return symptoms
