"""The C++ kernel build: cached, atomic, and loud when the compiler fails."""

from __future__ import annotations

import shutil

import pytest

from addnn.ops import kernel_build

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(kernel_build, "cache_dir", lambda: tmp_path)
    return tmp_path


def test_build_is_cached(empty_cache):
    first = kernel_build.library_path()
    stamp = first.stat().st_mtime_ns
    second = kernel_build.library_path()
    assert first == second and second.stat().st_mtime_ns == stamp
    assert first.parent.parent == empty_cache
    # Only the finished library is left: no temporary files from the build.
    assert [p.name for p in first.parent.iterdir()] == ["libaddnn_sad.so"]


def test_compiler_error_is_reported_and_leaves_nothing(empty_cache, tmp_path_factory,
                                                       monkeypatch):
    broken = tmp_path_factory.mktemp("src") / "broken.cpp"
    broken.write_text("int main( {\n")
    monkeypatch.setattr(kernel_build, "SOURCE", broken)
    with pytest.raises(kernel_build.KernelBuildError, match="broken.cpp") as info:
        kernel_build.library_path()
    assert "error" in str(info.value)            # g++'s own message is surfaced
    assert not list(empty_cache.rglob("*.so"))


def test_missing_compiler(empty_cache, monkeypatch):
    monkeypatch.setattr(kernel_build.shutil, "which", lambda name: None)
    with pytest.raises(kernel_build.KernelBuildError, match="no C\\+\\+ compiler"):
        kernel_build.library_path()
