"""Doppel image-matching engine: decode, fingerprint, index, verify. Knows files and arrays only
(no Django). Per-file work (`analyse_file`) is separate from pairing over stored analyses
(`CandidateIndex`, `verify_pair`/`verify_analyses`, `decide_file`)."""
ENGINE_VERSION = "2.0"
# versioned apart: a fingerprint change means re-analysing files (restores); a verifier change only
# re-verifies open candidates from stored analyses and renditions
FINGERPRINT_VERSION = "fp 2.0"

from .decode import DEFAULT_MAX_PIXELS, DecodeError, decode  # noqa: E402
from .analysis import FileAnalysis, analyse_file  # noqa: E402
from .names import DEFAULT_ID_PATTERNS, extract_ids  # noqa: E402
from .index import Candidate, CandidateIndex  # noqa: E402
from .thresholds import THRESHOLDS, VERIFIER_VERSION, ProofThresholds, Thresholds  # noqa: E402
from .thresholds import current as current_thresholds  # noqa: E402
from .verdict import VERDICTS, FileDecision, PairResult, decide_file, verify_analyses, verify_pair  # noqa: E402
from .pairing import pair_directories  # noqa: E402

__all__ = ["ENGINE_VERSION", "FINGERPRINT_VERSION", "VERIFIER_VERSION", "THRESHOLDS", "Thresholds", "ProofThresholds",
           "current_thresholds", "FileDecision", "VERDICTS", "DecodeError", "DEFAULT_MAX_PIXELS", "decode",
           "FileAnalysis", "analyse_file", "DEFAULT_ID_PATTERNS", "extract_ids", "Candidate",
           "CandidateIndex", "PairResult", "verify_pair", "verify_analyses", "decide_file",
           "pair_directories", "render_web_jpeg", "render_aligned", "render_diff"]


def __getattr__(name):  # renditions import lazily
    if name in ("render_web_jpeg", "render_aligned", "render_diff"):
        from . import render
        return getattr(render, name)
    raise AttributeError(name)
