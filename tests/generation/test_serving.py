"""Serving the model on Ray Serve LLM, checked without a GPU: the LLMConfig our settings build is valid for
Ray's own model and equals the one in deploy/serve-config-gpu.yaml; both config files are valid Serve
deployments; the hosts reach the served model at its route; and where Ray Serve LLM (the `gpu` extra) is
missing, `assess serve` says so in one line and starts nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ray.llm._internal.serve.core.configs.llm_config import LLMConfig  # the model behind ray.serve.llm.LLMConfig
from ray.serve.schema import ServeDeploySchema

from config.settings import Settings
from generation.endpoint import ModelEndpoint
from generation.serving import llm_config

ROOT = Path(__file__).resolve().parents[2]
GPU_CONFIG = ROOT / "deploy" / "serve-config-gpu.yaml"
ASSESS = str(Path(sys.executable).with_name("assess"))

# The settings the comments of deploy/serve-config-gpu.yaml name, with their values there.
SERVED = {
    "ASSESS_LLM_MODEL": "qwen2.5-7b-instruct",
    "ASSESS_LLM_SERVE_SOURCE": "/models/Qwen2.5-7B-Instruct",
    "ASSESS_LLM_SERVE_ACCELERATOR": "H100",
    "ASSESS_LLM_SERVE_MIN_REPLICAS": "1",
    "ASSESS_LLM_SERVE_MAX_REPLICAS": "4",
    "ASSESS_LLM_SERVE_MAX_MODEL_LEN": "8192",
    "ASSESS_LLM_SERVE_MAX_BATCH": "256",
    "ASSESS_LLM_SERVE_GPUS_PER_REPLICA": "1",
}


def applications(path: Path) -> dict[str, dict[str, Any]]:
    return {application["name"]: application for application in yaml.safe_load(path.read_text())["applications"]}


@pytest.mark.parametrize("name", ["serve-config.yaml", "serve-config-gpu.yaml"])
def test_the_deploy_files_are_valid_serve_configs(name: str) -> None:
    ServeDeploySchema(**yaml.safe_load((ROOT / "deploy" / name).read_text()))


def test_the_served_model_config_is_the_one_in_the_deploy_file_and_valid_for_ray() -> None:
    built = llm_config(Settings(**SERVED))  # type: ignore[arg-type]
    llm = applications(GPU_CONFIG)["llm"]
    assert llm["import_path"] == "ray.serve.llm:build_openai_app" and llm["route_prefix"] == "/llm"
    assert llm["args"]["llm_configs"] == [built]
    validated = LLMConfig(**built)
    assert validated.model_id == "qwen2.5-7b-instruct" and validated.accelerator_type == "H100"
    assert validated.engine_kwargs["max_num_seqs"] == 256
    assert validated.deployment_config["autoscaling_config"]["max_replicas"] == 4


def test_the_hosts_reach_the_served_model_at_its_route() -> None:
    serving = Settings(**SERVED, ASSESS_GENERATOR="llm", ASSESS_HOST="0.0.0.0", ASSESS_PORT="8000")  # type: ignore[arg-type]
    endpoint = ModelEndpoint.from_settings(serving)
    assert endpoint is not None and (endpoint.base_url, endpoint.model) == (
        "http://127.0.0.1:8000/llm/v1",
        "qwen2.5-7b-instruct",
    )
    env = applications(GPU_CONFIG)["assess"]["runtime_env"]["env_vars"]
    from_file = Settings(**{**env, "ASSESS_ENVIRONMENT": "development"})  # type: ignore[arg-type]
    deployed = ModelEndpoint.from_settings(from_file)
    assert deployed is not None and (deployed.base_url, deployed.model) == (endpoint.base_url, endpoint.model)
    external = Settings(**SERVED, ASSESS_GENERATOR="llm", ASSESS_LLM_BASE_URL="http://gpu.internal:9000/v1")  # type: ignore[arg-type]
    assert external.model_base_url == "http://gpu.internal:9000/v1", "an explicit endpoint wins"


def test_a_served_model_needs_a_name_and_sane_replica_bounds() -> None:
    with pytest.raises(ValueError, match="ASSESS_LLM_SERVE_SOURCE needs ASSESS_LLM_MODEL"):
        Settings(ASSESS_LLM_SERVE_SOURCE="/models/x")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="MIN_REPLICAS is above"):
        Settings(**{**SERVED, "ASSESS_LLM_SERVE_MIN_REPLICAS": "3", "ASSESS_LLM_SERVE_MAX_REPLICAS": "2"})  # type: ignore[arg-type]


def test_without_the_gpu_extra_assess_serve_says_so_and_starts_nothing(tmp_path: Path) -> None:
    try:
        import vllm  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.fail("vLLM is installed here: this test is about a machine without the gpu extra")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **SERVED, "ASSESS_PORT": "1"}
    result = subprocess.run([ASSESS, "serve"], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    said = " ".join(result.stdout.split())
    assert "Cannot serve the model:" in said and "pip install -e '.[gpu]'" in said
    assert "Traceback" not in result.stdout + result.stderr and "Ray runtime started" not in said
