"""Which CPUs multiply bfloat16 in hardware (the CPU tests serve float32 elsewhere)."""

from __future__ import annotations

from servecap.hardware import cpu_has_native_bf16


def test_bf16_units_are_read_from_the_cpu_flags():
    assert cpu_has_native_bf16("flags\t: fpu avx512f avx512_bf16 amx_tile")
    assert cpu_has_native_bf16("flags\t: fpu amx_bf16 amx_tile")
    assert not cpu_has_native_bf16("flags\t: fpu avx avx2 fma")
    assert not cpu_has_native_bf16("flags\t: fpu avx512f avx512bw")  # AVX-512 without BF16
