"""The plugin kinds: one typed entry per kind, naming its hook, base class and default.

This table is the single list of kinds. The host builds its registry from it, the hook
specifications (``vagent.hookspecs``) are generated from it, and ``vagent plugins`` shows it.
Adding a kind is a base class in this package, an entry here, and a plugin that implements it.

``Registry.create(DECODER, "pyav")`` is typed as returning a ``Decoder`` and checks that the
plugin's factory really built one.
"""

# The table names abstract base classes, which mypy refuses where a ``type[T]`` is expected
# (type-abstract); the table only stores them for ``isinstance`` checks and never instantiates.
# mypy: disable-error-code="type-abstract"

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from vagent.components.answerer import Answerer
from vagent.components.asr import ASR
from vagent.components.captioner import Captioner
from vagent.components.decoder import Decoder
from vagent.components.index import VectorIndex
from vagent.components.judge import Judge
from vagent.components.kv_store import KVStore
from vagent.components.ocr import OCR
from vagent.components.planner import Planner
from vagent.components.segmenter import Segmenter
from vagent.components.text_encoder import TextEncoder
from vagent.components.visual_encoder import VisualEncoder
from vagent.errors import VagentError

T = TypeVar("T")


@dataclass(frozen=True)
class Kind(Generic[T]):
    """One plugin kind.

    ``name``: the kind's id (``vagent plugins``, error messages); ``hook``: the hook plugins
    implement to register factories of it; ``base``: the class every component of it is an
    instance of; ``default``: the component id used when the user names none (None: the kind is
    off unless asked for); ``summary``: what it does, one line; ``factory``: how the host calls a
    registered factory; ``details``: the rest of the hook's documentation.
    """

    name: str
    hook: str
    base: type[T]
    default: str | None
    summary: str
    factory: str
    details: str = ""

    @property
    def label(self) -> str:
        """The name in prose: ``visual encoder``."""
        return self.name.replace("_", " ")

    @property
    def default_id(self) -> str:
        """``default``, for kinds that have one (VagentError for a kind that is off by default)."""
        if self.default is None:
            raise VagentError(f"the {self.label} kind has no default; name one")
        return self.default

    @property
    def base_name(self) -> str:
        """Where plugins import the base class from: ``vagent.components.Decoder``."""
        module = self.base.__module__
        if module.startswith("vagent.components."):
            module = "vagent.components"  # every base class is re-exported there
        return f"{module}.{self.base.__qualname__}"

    def hook_doc(self) -> str:
        """The docstring of this kind's hook specification."""
        head = f"Register {self.summary}: ``{self.factory} -> {self.base_name}``."
        return f"{head}\n\n{self.details}" if self.details else head


DECODER: Kind[Decoder] = Kind(
    "decoder",
    "vagent_register_decoders",
    Decoder,
    "pyav",
    "video decoders",
    "factory(spec)",
)
SEGMENTER: Kind[Segmenter] = Kind(
    "segmenter",
    "vagent_register_segmenters",
    Segmenter,
    "fixed",
    "segmenters",
    "factory(spec, seconds: float)",
    "``seconds`` is the target (fixed windows) or maximum (scene cuts) segment length.",
)
VISUAL_ENCODER: Kind[VisualEncoder] = Kind(
    "visual_encoder",
    "vagent_register_visual_encoders",
    VisualEncoder,
    "openclip/ViT-B-32/laion2b_s34b_b79k",
    "joint image/text encoders",
    "factory(spec, device=None)",
    "The encoder's ``embedding_space`` is pinned in the catalog of every library it builds.",
)
TEXT_ENCODER: Kind[TextEncoder] = Kind(
    "text_encoder",
    "vagent_register_text_encoders",
    TextEncoder,
    "st/all-MiniLM-L6-v2",
    "text-only embedders for subtitle/OCR/caption/speech spans (the text track)",
    "factory(spec, device=None)",
)
CAPTIONER: Kind[Captioner] = Kind(
    "captioner",
    "vagent_register_captioners",
    Captioner,
    # captions are off by default (a VLM per segment is slow on a CPU); --text ...,captions uses:
    "hf-vlm",
    "captioners",
    "factory(spec, device=None)",
    "Captions become text spans (source ``caption``) of the segment they describe.",
)
OCR_KIND: Kind[OCR] = Kind(
    "ocr",
    "vagent_register_ocr",
    OCR,
    "rapidocr",
    "on-screen text readers that run on sampled frames (the text track)",
    "factory(spec)",
)
ASR_KIND: Kind[ASR] = Kind(
    "asr",
    "vagent_register_asr",
    ASR,
    "faster-whisper/tiny.en",
    "speech recognisers",
    "factory(spec, device=None)",
    "``spec`` names the model (a model name or a local model folder). The recogniser's ``id`` "
    "is pinned in the catalog of every library whose text track holds speech.",
)
INDEX: Kind[VectorIndex] = Kind(
    "index",
    "vagent_register_indexes",
    VectorIndex,
    "faiss/Flat",
    "vector indexes",
    "factory(spec, dim: int)",
    "``spec`` is backend-specific (for FAISS an index factory string such as ``Flat``, "
    "``IVF1024,Flat`` or ``HNSW32``); ``None`` means the backend's exact default.",
)
PLANNER: Kind[Planner] = Kind(
    "planner",
    "vagent_register_planners",
    Planner,
    "rules",
    "planners",
    "factory(spec, answerer=None)",
    "``answerer`` is the agent's answerer, whose ``complete`` an LLM planner may use (it returns "
    "None when the answerer has no language model).",
)
ANSWERER: Kind[Answerer] = Kind(
    "answerer",
    "vagent_register_answerers",
    Answerer,
    # the agent picks ``hf-vlm`` when a GPU and its weights are here (vagent.agent.choose)
    "hf-text",
    "answerers",
    "factory(spec, device=None, encoder=None)",
    "``encoder`` is the library's visual encoder (answerers that score frames with it use it); "
    "``device`` is None for automatic (the GPU when there is one). An answerer that can prefill "
    "its own segment caches also implements ``vagent.components.KvAnswerer``.",
)
KV_STORE: Kind[KVStore] = Kind(
    "kv_store",
    "vagent_register_kv_stores",
    KVStore,
    "safetensors",
    "KV stores",
    "factory(spec, root, budget_bytes=...)",
    "A store keeps each segment's precomputed language-model KV cache (one packed tensor "
    "``[layers, 2, kv_heads, tokens, head_dim]``) under the segment's key and the "
    "``Fingerprint`` (model, revision, dtype, prompt template, prefill mode) it was made with; "
    "``root`` is the library's folder (stores keep their files under ``root/kv/``), "
    "``budget_bytes`` the host memory it may keep loaded caches in. ``get`` reports a missing, "
    "corrupt or mismatched cache per segment (``vagent.kv.errors``) so the caller answers from "
    "frames for that segment only.",
)
JUDGE: Kind[Judge] = Kind(
    "judge",
    "vagent_register_judges",
    Judge,
    None,
    "judges of open answers",
    "factory(spec)",
    "None is on by default; ``vagent eval --judge ID`` scores open answers with one (built in: "
    "``exact`` and ``f1``, lexical matches against the reference; ``hf-judge/<model>``, a "
    "causal LM grading by a fixed rubric).",
)

KINDS: tuple[Kind[Any], ...] = (
    DECODER,
    SEGMENTER,
    VISUAL_ENCODER,
    TEXT_ENCODER,
    CAPTIONER,
    OCR_KIND,
    ASR_KIND,
    INDEX,
    PLANNER,
    ANSWERER,
    KV_STORE,
    JUDGE,
)


def kind_named(name: str | Kind[Any]) -> Kind[Any]:
    """The kind called ``name`` (a kind is returned as it is); VagentError for an unknown one."""
    if isinstance(name, Kind):
        return name
    for kind in KINDS:
        if kind.name == name:
            return kind
    known = ", ".join(k.name for k in KINDS)
    raise VagentError(f"no plugin kind '{name}'; the kinds are {known}")
