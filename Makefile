# Two commands do everything: `make demo` and `make test`. Both set up first; the set-up is
# idempotent and takes a second when nothing changed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.addnn-stamp

.PHONY: setup system-deps demo test mutate bench clean

setup: system-deps $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

# torch first, by exact version: pip then takes the local CPU wheel instead of resolving a
# CUDA build through a dependency.
$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip install -q --no-deps hls4ml==1.3.0
	$(VENV)/bin/addnn info
	touch $@

# Each stage of the flow adds its step here.
demo: setup
	@echo "== 1. adder2d kernels against F.conv2d and the reference =="
	$(PY) benchmarks/adder_kernel.py
	@echo "== 2. shipped float AdderNet ResNet-20 on the shipped CIFAR-10 sample images =="
	@mkdir -p build
	$(VENV)/bin/addnn eval assets/models/resnet20_adder_official.pt --data assets/samples/cifar10_val_exact_256.npz --json build/eval_float.json
	@echo "== 3. the shipped default: integer-only W8A8 addnn ResNet-20 (integer BN maps) =="
	$(VENV)/bin/addnn eval assets/models/resnet20_adder_addnn_w8.pt --data assets/samples/cifar10_val_exact_256.npz
	@echo "== 3b. quantization: the float model to W4A4 (PTQ, then 1 epoch of QAT distilled from the float model), calibrated, tuned and evaluated on the same samples, so only a smoke run =="
	@mkdir -p build
	rm -rf build/resnet20_addnn_w4.pt.finetune
	$(VENV)/bin/addnn quantize assets/models/resnet20_adder_official.pt --preset addnn --bits 4 --calib-data assets/samples/cifar10_val_exact_256.npz --calib-images 256 --finetune-epochs 1 --finetune-free-bn --finetune-distill 0.5 -o build/resnet20_addnn_w4.pt
	$(VENV)/bin/addnn eval build/resnet20_addnn_w4.pt --data assets/samples/cifar10_val_exact_256.npz
	@echo "== 3c. the shipped low-bit models (W4A4, W6A6: distilled QAT, chosen on unseen test images; MODEL_CARD.md): eval, then torch vs QONNX vs integer graph on 64 samples =="
	$(VENV)/bin/addnn eval assets/models/resnet20_adder_addnn_w6.pt --data assets/samples/cifar10_val_exact_256.npz
	$(VENV)/bin/addnn eval assets/models/resnet20_adder_addnn_w4.pt --data assets/samples/cifar10_val_exact_256.npz
	$(VENV)/bin/addnn export assets/models/resnet20_adder_addnn_w4.pt -o build/resnet20_addnn_w4_shipped.onnx
	$(VENV)/bin/addnn verify build/resnet20_addnn_w4_shipped.onnx --data assets/samples/cifar10_val_exact_256.npz --checkpoint assets/models/resnet20_adder_addnn_w4.pt --images 64 --min-agreement 100
	@echo "== 4. QONNX export of the default (20 Adder2d nodes) =="
	@mkdir -p build
	$(VENV)/bin/addnn export assets/models/resnet20_adder_addnn_w8.pt -o build/resnet20_addnn_w8.onnx
	@echo "== 5. integer graph: lowering, then torch vs QONNX vs integer graph (and its float32-BN mode) =="
	$(VENV)/bin/addnn lower build/resnet20_addnn_w8.onnx -o build/resnet20_addnn_w8_int.onnx
	$(VENV)/bin/addnn verify build/resnet20_addnn_w8.onnx --data assets/samples/cifar10_val_exact_256.npz --checkpoint assets/models/resnet20_adder_addnn_w8.pt --float-bn --min-agreement 100 --json build/verify_w8.json
	@echo "== 6. SAD lanes packed into DSP48E2 (LUT-only, Quad12, Octo8): yosys synth_xilinx -family xcup =="
	$(VENV)/bin/addnn rtl report --out build/rtl
	@echo "== 7. HLS dataflow accelerator of the default for the KV260, then g++ C simulation against the integer graph: fast build, ap_int build, bounded FIFOs =="
	$(VENV)/bin/addnn hls build/resnet20_addnn_w8_int.onnx -o build/hls_w8 --tb-data assets/samples/cifar10_val_exact_256.npz --tb-images 16
	$(VENV)/bin/addnn csim build/hls_w8 --data assets/samples/cifar10_val_exact_256.npz
	$(VENV)/bin/addnn csim build/hls_w8 --data assets/samples/cifar10_val_exact_256.npz --exact-types
	$(VENV)/bin/addnn csim build/hls_w8 --bounded
	@echo "== 7b. the same with the SAD differences in DSP48E2 (Octo8, RTL black box) and with the reference design's float32 BN =="
	$(VENV)/bin/addnn hls build/resnet20_addnn_w8.onnx -o build/hls_w8_octo8 --sad octo8
	$(VENV)/bin/addnn csim build/hls_w8_octo8 --data assets/samples/cifar10_val_exact_256.npz --images 16
	$(VENV)/bin/addnn hls build/resnet20_addnn_w8.onnx -o build/hls_w8_fbn --bn float32
	$(VENV)/bin/addnn csim build/hls_w8_fbn --data assets/samples/cifar10_val_exact_256.npz
	@echo "== 8. addnn estimate: the default's folding for the KV260 by integer programming (HiGHS) within 80% of every resource, FIFO depths by dataflow simulation, cycles and resources (modelled; SAD lanes yosys-calibrated); then addnn hls with that folding, C simulation, the bounded run, and the generated project estimated again =="
	$(VENV)/bin/addnn estimate build/resnet20_addnn_w8_int.onnx --board kv260 --clock-mhz 250 --sad lut --util 0.8 -o build/estimate_w8/folding.json
	$(VENV)/bin/addnn hls build/resnet20_addnn_w8_int.onnx -o build/hls_w8_est --folding build/estimate_w8/folding.json --tb-data assets/samples/cifar10_val_exact_256.npz --tb-images 16
	$(VENV)/bin/addnn csim build/hls_w8_est --data assets/samples/cifar10_val_exact_256.npz --batch 16 --json build/csim_w8.json
	$(VENV)/bin/addnn csim build/hls_w8_est --bounded
	$(VENV)/bin/addnn estimate build/hls_w8_est -o build/estimate_w8/generated.json
	@echo "== 9. addnn deploy: the KV260 package of that design (Vivado block design checked against the IPs' ports, build script, PYNQ driver), and the driver run through C simulation with a stand-in DMA (simulation, not hardware) =="
	$(VENV)/bin/addnn deploy build/hls_w8_est --board kv260 --samples assets/samples/cifar10_val_exact_256.npz --check-driver 32 --batch 16
	@echo "== 10. addnn report: every figure of this build on one page =="
	$(VENV)/bin/addnn report build -o build/report.html
	@echo "The report: $(CURDIR)/build/report.html"

# One pytest-xdist worker per core (the suite is mostly single-threaded work: g++ links,
# hypothesis, ONNX execution, CLI start-up).
test: setup
	$(PY) -m pytest -q -n auto

# Mutation testing of the numeric core (not part of `make test`): benchmarks/results/mutation.json.
# Every mutant of every scope by default (hours); e.g. MUTATE_ARGS="--scopes numeric,hls" or
# MUTATE_ARGS="--scopes ops,train --sample 60 --merge" for a part.
mutate: setup
	$(PY) -m pip install -q -e '.[test,mutation]'
	$(PY) benchmarks/mutation.py $(MUTATE_ARGS)

bench: demo
	$(PY) benchmarks/estimate_compare.py
	$(PY) benchmarks/fifo_depths.py
	$(PY) benchmarks/driver_host.py
	$(PY) benchmarks/csim_opt_levels.py

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis src/*.egg-info
