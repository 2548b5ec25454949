# make demo  : set up (first time) and train the default offline recipe on scikit-learn's digits
# make test  : set up (first time) and run the test suite
# make check : lint + type check + tests
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= runs/demo

.PHONY: install browser demo test lint typecheck check clean bench bench-quality bench-translation bench-modern bench-demo

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	@if grep -qs '"finished": true' "$(DEMO_OUT)/summary.json"; then \
		echo "$(DEMO_OUT) holds a finished run; sampling it again (rm -r $(DEMO_OUT) to retrain)"; \
	elif [ -e "$(DEMO_OUT)/recipe.yaml" ]; then \
		$(BIN)/gan train $(DEMO_OUT) --resume; \
	else \
		$(BIN)/gan train recipes/digits_gan.yaml --out $(DEMO_OUT); \
	fi
	$(BIN)/gan sample $(DEMO_OUT) --n 100 --grid 10x10 --seed 1 --out $(DEMO_OUT)/demo_samples.png
	$(BIN)/gan eval $(DEMO_OUT) --n 2000
	$(BIN)/gan report $(DEMO_OUT)
	@echo "Look at: $(DEMO_OUT)/report.html (everything on one page), $(DEMO_OUT)/samples/, $(DEMO_OUT)/progress.gif, $(DEMO_OUT)/demo_samples.png, $(DEMO_OUT)/eval.json"

# Two pytest workers, one test file each at a time (module fixtures stay in one process): most of a test's time
# is one-threaded (process start-up, tracing, small models), so 2 workers on 2 cores take about half as long.
# End-to-end quality runs (marker quality) are left to make bench-demo.
test: $(STAMP) browser
	$(BIN)/python -m pytest -q -n 2 --dist worksteal -m "not quality"

# Chromium renders gan report's page in tests/test_run_report.py. Installed with apt-get when that is usable as
# root; otherwise this says why, and that one test is skipped (never a failure here).
browser:
	@if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
		echo "chromium not found and apt-get not usable as root: skipping the gan report browser test"; \
	else \
		echo "installing chromium (apt-get) for the gan report browser test"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q chromium >/dev/null 2>&1 \
		|| { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } \
		|| echo "apt-get could not install chromium: skipping the gan report browser test"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check gan_cli tests bench

typecheck: $(STAMP)
	$(BIN)/mypy gan_cli

check: lint typecheck test

# the tutorial loop against gan train, DCGAN and pix2pix; then the modern pieces' cost per step
bench: $(STAMP)
	$(BIN)/python bench/speed.py
	$(BIN)/python bench/speed.py --modern --steps 100 --reps 2

bench-quality: $(STAMP)
	$(BIN)/python bench/quality.py

bench-translation: $(STAMP)
	$(BIN)/python bench/translation.py

# EMA, DiffAugment/ADA, BigGAN-mini and StyleGAN-mini against their baselines, 3 seeds each (hours on 2 cores)
bench-modern: $(STAMP)
	$(BIN)/python bench/modern.py

# make demo's promise, end to end: the demo recipe trained as make demo does makes every digit (about 75 s)
bench-demo: $(STAMP)
	$(BIN)/python -m pytest -q -m quality tests/test_demo_quality.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
