"""Starting processes and DeepSpeed: torchrun re-launch, process groups, presets, the strategy;
many nodes: the rendezvous settings of a node (``rendezvous``), SLURM scripts (``slurm``) and
Kubeflow manifests (``k8s``).

Sits below engine/convert (they may import it) and above model/dataset/config; it never
imports engine. Submodules are imported on use (``launch.deepspeed_strategy`` imports
deepspeed's glue).
"""
