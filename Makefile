# make demo  : set up (first time) and train the default offline recipe on scikit-learn's digits
# make test  : set up (first time) and run the test suite
# make check : lint + type check + tests
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= runs/demo

.PHONY: install demo test lint typecheck check clean bench bench-quality bench-translation

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
	@echo "Look at: $(DEMO_OUT)/samples/ (grids during training), $(DEMO_OUT)/demo_samples.png, $(DEMO_OUT)/loss_curves.png, $(DEMO_OUT)/eval.json"

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check gan_cli tests bench

typecheck: $(STAMP)
	$(BIN)/mypy gan_cli

check: lint typecheck test

bench: $(STAMP)
	$(BIN)/python bench/speed.py

bench-quality: $(STAMP)
	$(BIN)/python bench/quality.py

bench-translation: $(STAMP)
	$(BIN)/python bench/translation.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
