"""The shipped shape table: every shipped recipe's model is in it, with its published size;
its hub ids are read from the configs (their one home)."""
import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

from xtuner_like.config import load_config
from xtuner_like.config.recipes import configs_root, recipe_paths
from xtuner_like.model.family_shapes import BASE_SHAPES, FAMILY_SHAPES, hub_id_bases

# Parameter counts as the models' hub pages state them (billions, rounded there).
PUBLISHED_BILLIONS = {
    'meta-llama/Llama-2-7b-chat-hf': 6.74, 'deepseek-ai/deepseek-llm-7b-chat': 6.91,
    'meta-llama/Llama-3.1-8B-Instruct': 8.03, 'mistralai/Mistral-7B-Instruct-v0.3': 7.25,
    'internlm/internlm2_5-7b-chat': 7.74, 'Qwen/Qwen2.5-7B-Instruct': 7.62,
    'Qwen/Qwen3-8B': 8.19, 'Qwen/Qwen3-8B-Base': 8.19, 'google/gemma-2-2b-it': 2.61,
    'google/gemma-2-2b': 2.61,
    'microsoft/Phi-3-mini-4k-instruct': 3.82, 'HuggingFaceTB/SmolLM2-135M-Instruct': 0.135,
}


@pytest.mark.parametrize('name', sorted(FAMILY_SHAPES))
def test_shape_gives_the_published_parameter_count(name):
    shape = dict(FAMILY_SHAPES[name])
    config = AutoConfig.for_model(shape.pop('model_type'), **shape)
    with torch.device('meta'):
        model = AutoModelForCausalLM.from_config(config)
    billions = sum(p.numel() for p in model.parameters()) / 1e9
    assert billions == pytest.approx(PUBLISHED_BILLIONS[name], rel=0.005)


def test_every_shipped_recipe_model_has_a_shape():
    names = set()
    for path in recipe_paths().values():
        llm = load_config(str(path)).get('model', {}).get('llm')
        if isinstance(llm, dict) and isinstance(llm.get('pretrained_model_name_or_path'), str):
            names.add(llm['pretrained_model_name_or_path'])
    assert names and names <= set(FAMILY_SHAPES), names - set(FAMILY_SHAPES)


def test_shapes_are_keyed_by_model_bases_that_name_the_hub_ids():
    models = configs_root() / '_base_' / 'models'
    assert all((models / f'{base}.py').is_file() for base in BASE_SHAPES)
    bases = hub_id_bases()
    assert set(bases.values()) == set(BASE_SHAPES)  # each base names its model once
    assert bases['Qwen/Qwen3-8B-Base'] == 'qwen3_8b'  # a recipe's model on a family base
    assert "'Qwen/Qwen3-8B'" in (models / 'qwen3_8b.py').read_text()
