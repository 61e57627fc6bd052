from conftest import run_cli


def test_list_cfg(capsys):
    assert run_cli(['list-cfg', '-p', 'identity']) == 0
    assert capsys.readouterr().out.split() == ['smollm2_135m_instruct_lora_identity']
    assert run_cli(['list-cfg', '-p', 'no-such-recipe']) == 1


def test_list_cfg_deepspeed_presets(capsys):
    assert run_cli(['list-cfg', '--deepspeed', '-p', 'zero2']) == 0
    assert capsys.readouterr().out.split() == ['deepspeed_zero2', 'deepspeed_zero2_offload']
