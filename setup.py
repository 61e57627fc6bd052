"""Install xtuner_like: `pip install -e .` or `pip install .`."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name: str) -> list[str]:
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


def config_files() -> list[str]:
    """Every recipe and preset, shipped inside the package as xtuner_like/configs."""
    root = HERE / 'configs'
    return [str(p.relative_to(root)) for p in root.rglob('*') if p.suffix in ('.py', '.json')]


setup(
    name='xtuner_like',
    version='0.1.0',
    description='Config-file fine-tuning of large language models (LoRA, QLoRA, full).',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    python_requires='>=3.10',
    packages=find_packages(include=['xtuner_like', 'xtuner_like.*']) + ['xtuner_like.configs'],
    package_dir={'xtuner_like.configs': 'configs'},
    package_data={'xtuner_like.configs': config_files(),
                  'xtuner_like.templates': ['chat_template.jinja']},
    install_requires=read_requirements('runtime.txt'),
    extras_require={
        'deepspeed': read_requirements('deepspeed.txt'),
        'flash_attn': read_requirements('flash_attn.txt'),
        'plot': read_requirements('plot.txt'),
        'test': read_requirements('test.txt'),
    },
    entry_points={'console_scripts': ['xtuner-like = xtuner_like.cli.main:main']},
)
