"""Serving the model ourselves: a Ray Serve LLM application (vLLM underneath) beside the assessment one.

Selected by `ASSESS_LLM_SERVE_SOURCE` (a local model directory or a model id): `assess serve` then runs
`ray.serve.llm.build_openai_app` with one `LLMConfig` under `/llm`, so the session hosts reach it as an
OpenAI-compatible endpoint (`Settings.model_base_url`), exactly as they would reach an external one. The
serving engine batches the requests of all sessions (continuous batching, up to
`ASSESS_LLM_SERVE_MAX_BATCH` sequences per replica); each host bounds what it has in flight
(`ASSESS_LLM_MAX_CONCURRENCY`), and Serve autoscales replicas between the configured bounds on the
requests in flight. The GPU packages (`ray[llm]`, vLLM) are the optional `gpu` extra.

`llm_config` is plain data, so the same configuration is written in deploy/serve-config-gpu.yaml for
`serve deploy`, and tests compare the two without a GPU.
"""

from __future__ import annotations

from typing import Any

from ray.serve import Application

from config.settings import Settings

MODEL_APPLICATION = "llm"
TARGET_ONGOING_REQUESTS_PER_REPLICA = 64  # where autoscaling adds a replica; the engine batches below it
MAX_ONGOING_REQUESTS_PER_REPLICA = 512


class ModelServingUnavailable(RuntimeError):
    """Ray Serve LLM cannot run here: the `gpu` extra (ray[llm], vLLM) is not installed."""


def llm_config(settings: Settings) -> dict[str, Any]:
    """The `LLMConfig` of the served model, as the keyword arguments (or YAML) Ray Serve LLM takes."""
    if not settings.llm_serve_source or not settings.llm_model:
        raise ValueError("serving a model needs ASSESS_LLM_SERVE_SOURCE and ASSESS_LLM_MODEL")
    config: dict[str, Any] = {
        "model_loading_config": {"model_id": settings.llm_model, "model_source": settings.llm_serve_source},
        "deployment_config": {
            "autoscaling_config": {
                "min_replicas": settings.llm_serve_min_replicas,
                "max_replicas": settings.llm_serve_max_replicas,
                "target_ongoing_requests": TARGET_ONGOING_REQUESTS_PER_REPLICA,
            },
            "max_ongoing_requests": MAX_ONGOING_REQUESTS_PER_REPLICA,
        },
        "engine_kwargs": {
            "max_model_len": settings.llm_serve_max_model_len,
            "max_num_seqs": settings.llm_serve_max_batch,
            "tensor_parallel_size": settings.llm_serve_gpus_per_replica,
        },
    }
    if settings.llm_serve_accelerator:
        config["accelerator_type"] = settings.llm_serve_accelerator
    return config


def build_model_application(settings: Settings) -> Application:
    try:
        from ray.serve.llm import LLMConfig, build_openai_app
    except ImportError as error:
        raise ModelServingUnavailable(
            f"ASSESS_LLM_SERVE_SOURCE is set but Ray Serve LLM cannot be imported ({error}); install the GPU "
            "extra on every GPU node: pip install -e '.[gpu]'"
        ) from error
    return build_openai_app({"llm_configs": [LLMConfig(**llm_config(settings))]})
