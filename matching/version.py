"""The engine's version numbers, in a module that imports nothing, so every part of the engine (and
the app) can import them at the top without a cycle through the package. Versioned apart: a
fingerprint change means re-analysing files (restores); a verifier change (proof.VERIFIER_VERSION)
only re-verifies open candidates from stored analyses and renditions."""
ENGINE_VERSION = "2.0"
FINGERPRINT_VERSION = "fp 2.1"   # 2.1: a scaled decode's partial last pixel is not stretched over the
#                                    reduced picture (decode.scaled_extent): a JPEG of 410 px decoded at 5/8 drifted 0.75 px
