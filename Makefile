# Shortcuts for the two README commands and the checks they run.
.PHONY: install up test lint
install:
	bash scripts/install.sh
up: install
	.venv/bin/hermesh up
test:
	bash scripts/test.sh
lint:
	.venv/bin/ruff check hermes services bridge tests bench
	.venv/bin/mypy
