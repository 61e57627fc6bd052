from conftest import run_cli


def test_list_cfg(capsys):
    assert run_cli(['list-cfg', '-p', 'identity']) == 0
    assert capsys.readouterr().out.split() == ['smollm2_135m_instruct_lora_identity']
    assert run_cli(['list-cfg', '-p', 'no-such-recipe']) == 1
