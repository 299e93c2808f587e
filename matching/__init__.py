"""Doppel image-matching engine: decode, fingerprint, index, verify. Knows files and arrays only
(no Django). Per-file work (`analyse_file`) is separate from pairing over stored analyses
(`CandidateIndex`, `verify_pair`/`verify_analyses`, `decide_file`)."""
from .analysis import FileAnalysis, analyse_file, analysis_current
from .decode import DEFAULT_MAX_PIXELS, DecodeError, decode
from .index import Candidate, CandidateIndex
from .names import DEFAULT_ID_PATTERNS, extract_ids
from .pairing import pair_directories
from .thresholds import THRESHOLDS, VERIFIER_VERSION, ProofThresholds, Thresholds, current as current_thresholds
from .verdict import VERDICTS, FileDecision, PairResult, decide_file, verification_failed, verify_analyses, verify_pair
from .version import ENGINE_VERSION, FINGERPRINT_VERSION

__all__ = ["ENGINE_VERSION", "FINGERPRINT_VERSION", "VERIFIER_VERSION", "THRESHOLDS", "Thresholds", "ProofThresholds",
           "current_thresholds", "FileDecision", "VERDICTS", "DecodeError", "DEFAULT_MAX_PIXELS", "decode",
           "FileAnalysis", "analyse_file", "analysis_current", "DEFAULT_ID_PATTERNS", "extract_ids", "Candidate",
           "CandidateIndex", "PairResult", "verify_pair", "verify_analyses", "decide_file", "verification_failed",
           "pair_directories", "render_web_jpeg", "render_aligned", "render_diff"]


def __getattr__(name):  # renditions import lazily
    if name in ("render_web_jpeg", "render_aligned", "render_diff"):
        from . import render
        return getattr(render, name)
    raise AttributeError(name)
