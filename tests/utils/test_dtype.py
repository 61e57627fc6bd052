import pytest
import torch

from xtuner_like.errors import UnknownNameError
from xtuner_like.utils import dtype as dtype_module
from xtuner_like.utils.dtype import cpu_has_native_bf16, note_bf16_base, resolve_dtype


def test_resolve_dtype():
    assert resolve_dtype('bf16') is torch.bfloat16 and resolve_dtype('float32') is torch.float32
    assert resolve_dtype('auto') == 'auto' and resolve_dtype(None) is None
    with pytest.raises(UnknownNameError, match="did you mean 'bf16'"):
        resolve_dtype('bf61')


@pytest.mark.parametrize('flags, native', [
    ('fpu avx512f avx512_bf16 avx512vl', True), ('fpu avx512f amx_bf16 amx_tile', True),
    ('fpu avx2 avx512f avx512_vnni', False), ('fpu avx2 amx_tile', False)])
def test_cpu_has_native_bf16_reads_the_cpu_flags(tmp_path, flags, native):
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text(f'processor\t: 0\nmodel name\t: x\nflags\t\t: {flags}\n\nprocessor\t: 1\n')
    assert cpu_has_native_bf16(cpuinfo) is native


def test_cpu_has_native_bf16_is_false_without_cpuinfo(tmp_path):
    assert cpu_has_native_bf16(tmp_path / 'absent') is False


@pytest.mark.parametrize('dtype, device, native, noted', [
    (torch.float32, 'cpu', True, True), (torch.bfloat16, 'cpu', True, False),
    (torch.float32, 'cpu', False, False), (torch.float32, 'cuda', True, False)])
def test_note_bf16_base_only_for_an_fp32_base_on_a_bf16_cpu(monkeypatch, dtype, device, native,
                                                           noted):
    logged = []
    monkeypatch.setattr(dtype_module, 'cpu_has_native_bf16', lambda: native)
    monkeypatch.setattr(dtype_module, 'log_once', logged.append)
    note_bf16_base(dtype, device)
    assert bool(logged) is noted
    assert all("dtype='bf16'" in line for line in logged)
